"""The outbox for supervisors, and each user's own delivery settings."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.audit.service import record_audit
from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.notify import service
from backend.notify.schemas import MyNotificationsSchema, NotificationQuerySchema, NotificationSchema
from backend.pagination import envelope, page_schema, paginate


def _plain(query: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)
            for key, value in query.items()}


blp = Blueprint("notify", __name__, url_prefix="/api/v1", description="Notifications")


@blp.route("/notifications")
class NotificationsResource(MethodView):
    @roles_required(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, page_schema(NotificationSchema))
    def get(self, query):
        """List messages, newest first: filter by alert, promise, visit, user, status, channel, day or period.

        A promise reminder the contact rules refused (do-not-contact, a cap) is here too, once, with status
        `refused` and the rules' reasons in `last_error`: it was never sent.
        """
        page, page_size = query.pop("page"), query.pop("page_size")
        rows, total = paginate(db.session, service.list_notifications(**query), page, page_size)
        # The outbox holds full numbers and where collectors were: every read is audited.
        record_audit(db.session, actor_id=current_user().id, action="notifications.read",
                     subject_type="notifications", subject_id=None, filters=_plain(query), rows=len(rows))
        db.session.commit()
        return envelope([service.notification_view(row) for row in rows], total, page, page_size)


@blp.route("/me/notifications")
class MyNotificationsResource(MethodView):
    @roles_required()
    @blp.response(200, MyNotificationsSchema)
    def get(self):
        """Your delivery settings: channels you accept, a quiet period, e-mail, push registration."""
        return service.preferences(db.session, current_user())

    @roles_required()
    @blp.arguments(MyNotificationsSchema)
    @blp.response(200, MyNotificationsSchema)
    def patch(self, changes):
        """Change your delivery settings (safety alerts to on-duty staff ignore the quiet period)."""
        result = service.update_preferences(db.session, current_user(), changes)
        db.session.commit()
        return result
