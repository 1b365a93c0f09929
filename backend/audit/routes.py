"""The audit trail, for supervisors."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from backend.audit.service import list_audit
from backend.auth.access import roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.pagination import PageQuerySchema, envelope, page_schema, paginate, pop_page
from backend.validation import id_field, moment_field

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


class AuditQuerySchema(PageQuerySchema):
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    actor_id = id_field()
    since = moment_field()


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)  # None: the system (a sweep) or a failed login
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String(allow_none=True)  # None: an event about many (an import, a purge)
    details = fields.Dict()


AuditPageSchema = page_schema(AuditEventSchema)


@blp.route("/audit")
class AuditResource(MethodView):
    @roles_required(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, query):
        """Audit events, newest first (supervisor, admin)."""
        page, page_size = pop_page(query)
        items, total = paginate(db.session, list_audit(**query), page, page_size)
        return envelope(items, total, page, page_size)
