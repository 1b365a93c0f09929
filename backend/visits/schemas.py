"""Visit shapes: requests, filters, the visit record, and the outcome a collector reports."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.cases.schemas import RELATIONSHIPS
from backend.geo import CoordSysQuerySchema, PositionSchema, lat_field, lon_field
from backend.pagination import PageQuerySchema
from backend.validation import day_field, id_field, moment_field
from backend.visits.models import OPEN_STATUSES, HazardKind, OutcomeKind, VisitKind, VisitStatus

SKILL_PATTERN = r"^[a-z0-9_]{1,40}$"


class VisitCreateSchema(Schema):
    case_id = id_field(required=True, strict=True)
    address_id = id_field(strict=True, allow_none=True, load_default=None)
    kind = fields.Enum(VisitKind, by_value=True, required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    priority = fields.Integer(strict=True, load_default=3, validate=validate.Range(min=1, max=5))
    window_start = moment_field(allow_none=True, load_default=None)
    window_end = moment_field(allow_none=True, load_default=None)
    required_skills = fields.List(fields.String(validate=validate.Regexp(SKILL_PATTERN, error="lowercase skill name")),
                                  load_default=list, validate=validate.Length(max=10))

    @validates_schema
    def _window_order(self, data, **_):
        if data.get("window_start") and data.get("window_end") and data["window_end"] <= data["window_start"]:
            raise ValidationError("must be after window_start", "window_end")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'minlon,minlat,maxlon,maxlat' or raise ValidationError."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise ValidationError("expected minlon,minlat,maxlon,maxlat numbers") from exc
    if len(values) != 4 or any(v != v for v in values):
        raise ValidationError("expected four numbers: minlon,minlat,maxlon,maxlat")
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise ValidationError("bounds out of range or min not below max")
    return values


class BboxField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return parse_bbox(super()._deserialize(value, attr, data, **kwargs))


class VisitQuerySchema(PageQuerySchema):
    case_id = id_field()
    status = fields.Enum(VisitStatus, by_value=True)
    kind = fields.Enum(VisitKind, by_value=True)
    collector_id = id_field()
    date = day_field()
    bbox = BboxField(metadata={"description": "minlon,minlat,maxlon,maxlat"})
    not_located = fields.Boolean(metadata={"description": "visits whose address cannot be routed to yet"})
    overdue = fields.Boolean(metadata={"description": "true: open visits past their due time; false: the rest"})
    pinned = fields.Boolean(metadata={"description": "true: visits a dispatcher pinned to a collector; false: the rest"})
    open = fields.Boolean(metadata={"description": (
        f"true: open visits only ({', '.join(OPEN_STATUSES)}); false: the closed ones "
        f"({', '.join(s for s in VisitStatus if s not in OPEN_STATUSES)}); combines with the other filters")})


class VisitGeoQuerySchema(VisitQuerySchema, CoordSysQuerySchema):
    """The map's query: GET /visits' filters and pages (a page of features, at most 1000 per page)."""


class AddressPointSchema(Schema):
    text = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    precision = fields.String(allow_none=True)
    geocode_status = fields.String()


class PinSchema(Schema):
    """A visit's pin: every plan gives the visit to this collector (at this stop number, when set)."""

    visit_id = fields.Integer()
    collector_id = fields.Integer()
    position = fields.Integer(allow_none=True, metadata={"description": "the stop number, or none"})
    pinned_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "when it was pinned"})


class VisitSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    address_id = fields.Integer()
    address = fields.Nested(AddressPointSchema)
    kind = fields.String()
    status = fields.String()
    reason = fields.String()
    priority = fields.Integer()
    window_start = fields.DateTime(allow_none=True)
    window_end = fields.DateTime(allow_none=True)
    due_by = fields.DateTime()
    source = fields.String()
    outsourced = fields.Boolean()
    requires_two = fields.Boolean()
    required_skills = fields.List(fields.String())
    collector_id = fields.Integer(allow_none=True)
    scheduled_date = fields.Date(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    last_outcome = fields.String(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    address_moved_at = fields.DateTime(allow_none=True, metadata={"description": "the case moved; visit re-targeted"})
    moved_from_address_id = fields.Integer(allow_none=True)
    pin = fields.Nested(PinSchema, allow_none=True, metadata={"description": "null when the visit is not pinned"})


class VisitPageSchema(Schema):
    items = fields.List(fields.Nested(VisitSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class AssignSchema(Schema):
    collector_id = id_field(required=True, strict=True)
    date = day_field(required=True)


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


def _cents(value) -> None:
    if value.as_tuple().exponent < -2:
        raise ValidationError("at most 2 decimal places")


def money_field() -> fields.Decimal:
    """A positive amount of money with at most 2 decimals."""
    # The bounds spelled out for the OpenAPI document: apispec writes a Decimal's bounds as strings,
    # which makes the document invalid for its readers.
    return fields.Decimal(places=None, allow_nan=False,
                          validate=[validate.Range(min=0, min_inclusive=False, max=10**12, max_inclusive=False),
                                    _cents],
                          metadata={"minimum": 0, "exclusiveMinimum": True, "maximum": 10**12,
                                    "exclusiveMaximum": True})


class OutcomePromiseSchema(Schema):
    amount = money_field()
    due_date = day_field()


class OutcomePaymentSchema(Schema):
    amount = money_field()
    receipt_no = fields.String(validate=validate.Length(min=1, max=64))


class NewPhoneSchema(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    # "debtor", or the name of the person the number belongs to.
    owner = fields.String(load_default="debtor", validate=validate.Length(min=1, max=200))
    relationship = fields.String(allow_none=True, load_default=None,
                                 validate=validate.OneOf(("self", *RELATIONSHIPS)))


class HazardInSchema(Schema):
    kind = fields.Enum(HazardKind, by_value=True, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class OutcomeInSchema(PositionSchema):
    outcome = fields.Enum(OutcomeKind, by_value=True, required=True)
    recorded_at = moment_field(required=True)
    lat = lat_field(required=True)
    lon = lon_field(required=True)
    accuracy_m = fields.Float(allow_none=True, load_default=None, allow_nan=False,
                              validate=validate.Range(min=0, max=100_000))
    # When the GPS fix was taken (stale_fix compares it with recorded_at), and whether the phone's
    # location came from a mock provider (developer options, a spoofing app).
    fix_at = moment_field(allow_none=True, load_default=None)
    mock_location = fields.Boolean(load_default=False)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    reason = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))
    promise = fields.Nested(OutcomePromiseSchema, allow_none=True, load_default=None)
    payment = fields.Nested(OutcomePaymentSchema, allow_none=True, load_default=None)
    new_phones = fields.List(fields.Nested(NewPhoneSchema), load_default=list, validate=validate.Length(max=20))
    hazards = fields.List(fields.Nested(HazardInSchema), load_default=list, validate=validate.Length(max=10))


class OutcomeOutSchema(Schema):
    """A stored outcome, as first answered (201) and as replayed for the same key (200). Documents the
    response; the body itself is built by outcomes.outcome_view."""

    id = fields.Integer(required=True)
    visit_id = fields.Integer(required=True)
    outcome = fields.String(required=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})
    received_at = fields.String(required=True, metadata={"format": "date-time"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "from the visit's address"})
    on_site = fields.Boolean(allow_none=True)
    geofence_m = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    fix_at = fields.String(allow_none=True, metadata={"format": "date-time", "description": "when the GPS fix was taken"})
    mock_location = fields.Boolean(metadata={"description": "the phone reported a mock-location provider"})
    flags = fields.List(fields.String(), required=True)
    visit_status = fields.String(required=True)
    promise = fields.Dict(keys=fields.String(), allow_none=True)
    payment = fields.Dict(keys=fields.String(), allow_none=True)
    new_phones = fields.List(fields.Dict(keys=fields.String()), allow_none=True)
    hazards = fields.List(fields.Dict(keys=fields.String()), allow_none=True)


class OutcomeViewSchema(OutcomeOutSchema):
    """A stored report from the door with its proof of visit (GET /visits/{id}/outcome)."""

    collector_id = fields.Integer(required=True)
    notes = fields.String()
    reason = fields.String(allow_none=True)


class AbsenceInSchema(Schema):
    date = day_field(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AbsenceSchema(Schema):
    id = fields.Integer()
    collector_id = fields.Integer()
    date = fields.Date()
    reason = fields.String()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    released_visit_ids = fields.List(fields.Integer())
