"""Tracing shapes: the upload form, a request's status, a candidate, and the review decisions."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from backend.cases.schemas import RELATIONSHIPS
from backend.validation import id_field

# Lawful grounds a specialist may cite for a lookup; every request names one and it is audited.
LEGAL_BASES = ("debtor_consent", "relative_consent", "court_order", "contract_clause", "legitimate_interest",
               "legal_obligation")


FILE_FIELDS = {
    "contacts": "phone book, CSV or JSON: owner_number?, name, number",
    "calls": "call records, CSV or JSON: owner_number?, number, direction (in|out), started_at, duration_s",
}


class RequestFormSchema(Schema):
    """The multipart body; the two file fields are documented here and read from request.files."""

    class Meta:
        unknown = EXCLUDE

    case_id = id_field(required=True, strict=False)
    legal_basis = fields.String(required=True, validate=validate.OneOf(LEGAL_BASES))
    legal_reference = fields.String(load_default=None, validate=validate.Length(max=200),
                                    metadata={"description": "e.g. the court order or consent form number"})
    contacts = fields.Raw(load_only=True, metadata={"type": "string", "format": "binary",
                                                    "description": FILE_FIELDS["contacts"]})
    calls = fields.Raw(load_only=True, metadata={"type": "string", "format": "binary",
                                                 "description": FILE_FIELDS["calls"]})


class RequestQuerySchema(Schema):
    case_id = id_field(required=True)


class TracingRequestSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    job_id = fields.Integer(allow_none=True)
    status = fields.String()
    progress = fields.Float()
    stats = fields.Dict()
    error = fields.String(allow_none=True)
    legal_basis = fields.String()
    legal_reference = fields.String(allow_none=True)
    requested_by_id = fields.Integer(allow_none=True)
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
    evidence = fields.Dict()
    flags = fields.List(fields.String())
    status = fields.Function(lambda c: c.status.value)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    case_phone_id = fields.Integer(allow_none=True)
    case_contact_id = fields.Integer(allow_none=True)


class CandidateQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(("new_number", "kin", "associate")))
    status = fields.String(validate=validate.OneOf(("proposed", "confirmed", "rejected")))


class ConfirmSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "how to name a confirmed contact (default: as saved)"})
    relationship = fields.String(validate=validate.OneOf(RELATIONSHIPS))
    note = fields.String(validate=validate.Length(max=500))


class RejectSchema(Schema):
    note = fields.String(validate=validate.Length(max=500))
