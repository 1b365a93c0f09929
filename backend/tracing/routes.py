"""Tracing endpoints: queue a lookup over uploaded records, poll it, review its candidates."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.http import takes_upload
from backend.pagination import envelope, page_schema
from backend.tracing import review, service
from backend.tracing.schemas import (
    FILE_FIELDS,
    CandidateQuerySchema,
    CandidateSchema,
    ConfirmSchema,
    LegalBasesSchema,
    LegalBasisQuerySchema,
    RejectSchema,
    RequestFormSchema,
    RequestQuerySchema,
    TracingRequestSchema,
)

blp = Blueprint("tracing", __name__, url_prefix="/api/v1", description="Skip tracing")

# Lookups over third parties' data: tracing specialists and their supervisors only.
TRACING_ROLES = (Role.TRACER, Role.SUPERVISOR)


@blp.route("/tracing/requests")
class TracingRequestsResource(MethodView):
    @takes_upload("TRACING_UPLOAD_MAX_BYTES")  # each file's own limit is the portfolio's tracing.max_upload_bytes
    @roles_required(*TRACING_ROLES)
    @blp.arguments(RequestFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(202, TracingRequestSchema)
    @blp.alt_response(200, schema=TracingRequestSchema, description="the same files were submitted before")
    def post(self, form):
        """Queue a lookup over an uploaded phone book and/or call records; the same files again return it."""
        uploads = {kind: (upload.stream, upload.filename) for kind in FILE_FIELDS
                   if (upload := request.files.get(kind)) is not None}
        submitted, created = service.submit_request(
            db.session, case_id=form["case_id"], legal_basis=form["legal_basis"],
            legal_reference=form.get("legal_reference"), files=uploads, requested_by_id=current_user().id)
        db.session.commit()
        view = service.request_view(db.session, submitted)
        return view if created else (view, 200)

    @roles_required(*TRACING_ROLES)
    @blp.arguments(RequestQuerySchema, location="query")
    @blp.response(200, page_schema(TracingRequestSchema))
    def get(self, query):
        """A case's tracing requests newest first, or without case_id the tracers' work queue across cases:
        running and queued first, then those awaiting review (oldest first), then the rest."""
        views, total = service.list_requests(db.session, **query)
        return envelope(views, total, query["page"], query["page_size"])


@blp.route("/tracing/legal-bases")
class LegalBasesResource(MethodView):
    @roles_required(*TRACING_ROLES)
    @blp.arguments(LegalBasisQuerySchema, location="query")
    @blp.response(200, LegalBasesSchema)
    def get(self, query):
        """The lawful bases a lookup on this case may cite under its portfolio's policy profile."""
        return service.legal_bases(db.session, query["case_id"])


@blp.route("/tracing/requests/<int:request_id>")
class TracingRequestResource(MethodView):
    @roles_required(*TRACING_ROLES)
    @blp.response(200, TracingRequestSchema)
    def get(self, request_id):
        """Status (queued, running, done, failed), progress 0..1, stats and error of a lookup."""
        return service.request_view(db.session, service.get_request(db.session, request_id))


@blp.route("/tracing/requests/<int:request_id>/candidates")
class CandidatesResource(MethodView):
    @roles_required(*TRACING_ROLES)
    @blp.arguments(CandidateQuerySchema, location="query")
    @blp.response(200, page_schema(CandidateSchema))
    def get(self, query, request_id):
        """The ranked candidates with their evidence, best first (the read is audited)."""
        candidates, total = review.list_candidates(db.session, request_id, actor_id=current_user().id, **query)
        db.session.commit()
        return envelope(candidates, total, query["page"], query["page_size"])


@blp.route("/tracing/candidates/<int:candidate_id>/confirm")
class ConfirmResource(MethodView):
    @roles_required(*TRACING_ROLES)
    @blp.arguments(ConfirmSchema, required=False)
    @blp.response(200, CandidateSchema)
    def post(self, body, candidate_id):
        """Confirm a candidate: the number joins the case (source tracing); 409 if it was rejected."""
        candidate = review.confirm_candidate(db.session, candidate_id, actor_id=current_user().id, **body)
        db.session.commit()
        return candidate


@blp.route("/tracing/candidates/<int:candidate_id>/reject")
class RejectResource(MethodView):
    @roles_required(*TRACING_ROLES)
    @blp.arguments(RejectSchema, required=False)
    @blp.response(200, CandidateSchema)
    def post(self, body, candidate_id):
        """Reject a candidate: later lookups on the case will not propose it again; 409 if confirmed."""
        candidate = review.reject_candidate(db.session, candidate_id, actor_id=current_user().id, **body)
        db.session.commit()
        return candidate
