"""POST /sync: the offline queue's endpoint."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.extensions import db
from backend.http import json_body
from backend.sync.schemas import SyncRequestSchema, SyncResponseSchema
from backend.sync.service import apply_events, check_batch

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Offline queue")


@blp.route("/sync")
class SyncResource(MethodView):
    @roles_required()
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": SyncRequestSchema}}})
    @blp.response(200)
    @blp.alt_response(200, schema=SyncResponseSchema, success=True)
    def post(self):
        """Apply a phone's queued events in order: one result each; a failure does not stop the rest."""
        events = check_batch(json_body())
        return {"results": apply_events(db.session, current_user(), events)}
