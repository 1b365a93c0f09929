"""The audit trail, for supervisors."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.audit.service import list_audit
from backend.auth.access import roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.validation import count_field, id_field, moment_field

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


class AuditQuerySchema(Schema):
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    actor_id = id_field()
    since = moment_field()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = count_field(load_default=0, validate=validate.Range(min=0))


class AuditEventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer()
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    details = fields.Dict()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    total = fields.Integer()


@blp.route("/audit")
class AuditResource(MethodView):
    @roles_required(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, query):
        """Audit events, newest first (supervisor, admin)."""
        items, total = list_audit(db.session, **query)
        return {"items": items, "total": total}
