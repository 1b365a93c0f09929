"""Route shapes: the plan request, stored routes, and the collector's day."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.geo import CoordSysQuerySchema
from backend.pagination import PageQuerySchema
from backend.validation import day_field, id_field


class PlanRequestSchema(Schema):
    date = day_field(required=True)
    collector_ids = fields.List(id_field(strict=True), allow_none=True, load_default=None,
                                validate=validate.Length(max=5000))
    visit_ids = fields.List(id_field(strict=True), allow_none=True, load_default=None,
                            validate=validate.Length(max=50000))


class StopSchema(Schema):
    sequence = fields.Integer()
    visit_id = fields.Integer()
    eta = fields.DateTime()
    departure = fields.DateTime()
    lat = fields.Float()
    lon = fields.Float()
    fixed = fields.Boolean()


class RouteSchema(Schema):
    id = fields.Integer()
    collector_id = fields.Integer()
    date = fields.Date()
    solver = fields.String()
    stops = fields.List(fields.Nested(StopSchema))
    distance_m = fields.Integer()
    duration_s = fields.Integer()
    created_at = fields.DateTime()


class UnassignedSchema(Schema):
    visit_id = fields.Integer()
    reason = fields.String()


class SkippedCollectorSchema(Schema):
    collector_id = fields.Integer()
    reason = fields.String()


class PlanSchema(Schema):
    date = fields.String()
    solver = fields.String()
    routes = fields.List(fields.Nested(RouteSchema))
    unassigned = fields.List(fields.Nested(UnassignedSchema))
    skipped_collectors = fields.List(fields.Nested(SkippedCollectorSchema))


class PlanJobSchema(Schema):
    job_id = fields.Integer()
    status = fields.String()
    progress = fields.Float()
    poll = fields.String()
    visits = fields.Integer()


class RouteQuerySchema(PageQuerySchema, CoordSysQuerySchema):
    date = day_field()
    collector_id = id_field()


class MeRouteQuerySchema(CoordSysQuerySchema):
    date = day_field()


class HazardViewSchema(Schema):
    kind = fields.String()
    note = fields.String()
    requires_two = fields.Boolean()
    since = fields.String()
    expires_at = fields.String()


class DoorAddressSchema(Schema):
    text = fields.String()
    lat = fields.Float()
    lon = fields.Float()


class WindowSchema(Schema):
    start = fields.DateTime(allow_none=True)
    end = fields.DateTime(allow_none=True)


class LastOutcomeSchema(Schema):
    outcome = fields.String()
    recorded_at = fields.DateTime()


class DoorStopSchema(Schema):
    sequence = fields.Integer()
    visit_id = fields.Integer()
    eta = fields.DateTime(allow_none=True)
    kind = fields.String()
    status = fields.String()
    window = fields.Nested(WindowSchema)
    address = fields.Nested(DoorAddressSchema)
    hazards = fields.List(fields.Nested(HazardViewSchema))
    requires_two = fields.Boolean()
    debtor_name = fields.String()
    amount_due = fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"})  # money is a decimal string
    currency = fields.String()
    last_outcome = fields.Nested(LastOutcomeSchema, allow_none=True)


class MeRouteSchema(Schema):
    date = fields.Date()
    route_id = fields.Integer(allow_none=True)
    stops = fields.List(fields.Nested(DoorStopSchema))


class MoveStopSchema(Schema):
    collector_id = id_field(required=True, strict=True)


class MoveResultSchema(Schema):
    visit_id = fields.Integer()
    routes = fields.List(fields.Nested(RouteSchema), metadata={"description": "both routes, re-timed"})
    removed_route_ids = fields.List(fields.Integer(), metadata={"description": "a route left without stops"})
