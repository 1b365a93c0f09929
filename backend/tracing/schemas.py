"""Tracing shapes: the upload form, a request's status, a candidate, and the review decisions."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from backend.cases.schemas import RELATIONSHIPS
from backend.pagination import PageQuerySchema
from backend.policy.defaults import LEGAL_BASES
from backend.validation import id_field

FILE_FIELDS = {
    "contacts": "phone book, CSV or JSON: owner_number?, name, number",
    "calls": "call records, CSV or JSON: owner_number?, number, direction (in|out), started_at, duration_s",
}


class RequestFormSchema(Schema):
    """The multipart body; the two file fields are documented here and read from request.files."""

    class Meta:
        unknown = EXCLUDE

    case_id = id_field(required=True, strict=False)
    legal_basis = fields.String(required=True, validate=validate.OneOf(tuple(LEGAL_BASES)), metadata={
        "description": "a lawful basis the case's policy profile accepts (GET /tracing/legal-bases)"})
    legal_reference = fields.String(load_default=None, validate=validate.Length(max=200),
                                    metadata={"description": "e.g. the court order or consent form number"})
    contacts = fields.Raw(load_only=True, metadata={"type": "string", "format": "binary",
                                                    "description": FILE_FIELDS["contacts"]})
    calls = fields.Raw(load_only=True, metadata={"type": "string", "format": "binary",
                                                 "description": FILE_FIELDS["calls"]})


class RequestQuerySchema(PageQuerySchema):
    """Without case_id: the tracers' work queue across cases (open and awaiting review first)."""

    case_id = id_field()
    status = fields.String(validate=validate.OneOf(("queued", "running", "done", "failed")))
    requested_by_id = id_field()
    awaiting_review = fields.Boolean(metadata={"description": "only requests with candidates nobody decided"})


class LegalBasisQuerySchema(Schema):
    case_id = id_field(required=True)


class LegalBasisSchema(Schema):
    code = fields.String()
    description = fields.String()


class LegalBasesSchema(Schema):
    profile = fields.String()
    bases = fields.List(fields.Nested(LegalBasisSchema))


class TracingRequestSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    job_id = fields.Integer(allow_none=True)
    status = fields.String()
    progress = fields.Float()
    stats = fields.Dict()
    error_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    legal_basis = fields.String()
    legal_reference = fields.String(allow_none=True)
    requested_by_id = fields.Integer(allow_none=True)
    requested_by = fields.String(allow_none=True, metadata={"description": "the specialist's username"})
    case_ref = fields.String(metadata={"description": "the case's external reference"})
    age_s = fields.Integer(metadata={"description": "seconds since the request was made"})
    awaiting_review = fields.Integer(metadata={"description": "candidates nobody confirmed or rejected yet"})
    files = fields.Dict()
    candidates = fields.Dict(metadata={"description": "count per kind"})
    raw_files_deleted = fields.Boolean()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    traced_at = fields.DateTime(allow_none=True)


class CandidateSchema(Schema):
    id = fields.Integer()
    request_id = fields.Integer()
    rank = fields.Integer()
    number_e164 = fields.String()
    kind = fields.Function(lambda c: c.kind.value)
    relationship = fields.String(allow_none=True)
    score = fields.Float()
    evidence = fields.Method("evidence_with_basis", metadata={"type": "object"})
    flags = fields.List(fields.String())
    status = fields.Function(lambda c: c.status.value)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    case_phone_id = fields.Integer(allow_none=True)
    case_contact_id = fields.Integer(allow_none=True)


    def evidence_with_basis(self, candidate) -> dict:
        """The engine's evidence plus the lawful basis the lookup was made on (always shown with it)."""
        request = candidate.request
        return {**(candidate.evidence or {}), "legal_basis": {
            "code": request.legal_basis, "description": LEGAL_BASES.get(request.legal_basis, request.legal_basis),
            "reference": request.legal_reference}}


class CandidateQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(("new_number", "kin", "associate")))
    status = fields.String(validate=validate.OneOf(("proposed", "confirmed", "rejected")))


class ConfirmSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "how to name a confirmed contact (default: as saved)"})
    relationship = fields.String(validate=validate.OneOf(RELATIONSHIPS))
    note = fields.String(validate=validate.Length(max=500))


class RejectSchema(Schema):
    note = fields.String(validate=validate.Length(max=500))
