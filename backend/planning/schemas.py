"""Route shapes: the plan request, stored routes, and the collector's day."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.geo import CoordSysQuerySchema
from backend.pagination import PageQuerySchema
from backend.validation import day_field, id_field
from backend.visits.schemas import PinSchema


class DistrictRegionSchema(Schema):
    """A region named by the dispatcher: its districts (administrative codes, e.g. 510107 for Wuhou;
    a city code such as 5101 takes every district of the city) and, optionally, its team."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    districts = fields.List(fields.String(validate=validate.Regexp(r"^\d{2,12}$", error="an administrative code")),
                            required=True, validate=validate.Length(min=1, max=500))
    collector_ids = fields.List(id_field(strict=True), load_default=None, allow_none=True,
                                validate=validate.Length(max=5000))


class PlanRequestSchema(Schema):
    date = day_field(required=True)
    collector_ids = fields.List(id_field(strict=True), allow_none=True, load_default=None,
                                validate=validate.Length(max=5000))
    visit_ids = fields.List(id_field(strict=True), allow_none=True, load_default=None,
                            validate=validate.Length(max=50000))
    # Solver budget in seconds; at most the policy's routing.max_time_limit_s.
    time_limit_s = fields.Float(load_default=None, allow_none=True,
                                validate=validate.Range(min=0.1, max=86400), allow_nan=False)
    # False: plan the day afresh, ignoring who holds what (pins still hold).
    keep_assignments = fields.Boolean(load_default=True)
    # Split a queued plan into this many regions (one job each); default from routing.region_max_visits.
    regions = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=64))
    district_regions = fields.List(fields.Nested(DistrictRegionSchema), load_default=None, allow_none=True,
                                   validate=validate.Length(min=1, max=64), metadata={
                                       "description": "named sets of districts, each planned by its own job"})

    @validates_schema
    def _one_way_to_split(self, data, **_):
        named = data.get("district_regions") or []
        if named and data.get("regions"):
            raise ValidationError("give regions or district_regions, not both", "district_regions")
        names = [region["name"] for region in named]
        if len(set(names)) != len(names):
            raise ValidationError("region names must differ", "district_regions")


class StopSchema(Schema):
    sequence = fields.Integer()
    visit_id = fields.Integer()
    eta = fields.DateTime()
    departure = fields.DateTime()
    lat = fields.Float()
    lon = fields.Float()
    fixed = fields.Boolean()
    pin = fields.Nested(PinSchema, allow_none=True, metadata={"description": "null when the visit is not pinned"})


class RouteSchema(Schema):
    id = fields.Integer()
    collector_id = fields.Integer()
    date = fields.Date()
    solver = fields.String()
    stops = fields.List(fields.Nested(StopSchema))
    distance_m = fields.Integer()
    duration_s = fields.Integer()
    created_at = fields.DateTime()
    version = fields.Integer()


class UnassignedSchema(Schema):
    visit_id = fields.Integer()
    reason = fields.String()


class SkippedCollectorSchema(Schema):
    collector_id = fields.Integer()
    reason = fields.String()


class ChangedVisitSchema(Schema):
    visit_id = fields.Integer()
    reason = fields.String()


class MovedVisitSchema(Schema):
    visit_id = fields.Integer()
    from_collector_id = fields.Integer()
    to_collector_id = fields.Integer()
    reason = fields.String()


class CollectorChangesSchema(Schema):
    collector_id = fields.Integer()
    version = fields.Integer(allow_none=True)
    added = fields.List(fields.Nested(ChangedVisitSchema))
    removed = fields.List(fields.Nested(ChangedVisitSchema))
    moved = fields.List(fields.Nested(MovedVisitSchema))


class PlanSchema(Schema):
    date = fields.String()
    solver = fields.String()
    plan_id = fields.Integer()
    routes = fields.List(fields.Nested(RouteSchema))
    unassigned = fields.List(fields.Nested(UnassignedSchema))
    skipped_collectors = fields.List(fields.Nested(SkippedCollectorSchema))
    changes = fields.List(fields.Nested(CollectorChangesSchema))


class PinRequestSchema(Schema):
    collector_id = id_field(required=True, strict=True)
    position = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=1, max=1000))


class RegionProgressSchema(Schema):
    name = fields.String()
    job_id = fields.Integer(allow_none=True)
    collectors = fields.Integer()
    visits = fields.Integer()
    status = fields.String()
    progress = fields.Float()
    solve_s = fields.Float(allow_none=True)


class RoutePlanSchema(Schema):
    id = fields.Integer()
    date = fields.Date(attribute="plan_date")
    status = fields.String()
    progress = fields.Float()
    time_limit_s = fields.Float()
    regions = fields.List(fields.Nested(RegionProgressSchema))
    changes = fields.List(fields.Nested(CollectorChangesSchema))
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class PlanJobSchema(Schema):
    job_id = fields.Integer()
    status = fields.String()
    progress = fields.Float()
    poll = fields.String()
    visits = fields.Integer()
    plan_id = fields.Integer()
    plan_poll = fields.String()


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
    # The stored route's version: a phone holding an older one re-reads its day.
    version = fields.Integer(allow_none=True)
    stops = fields.List(fields.Nested(DoorStopSchema))


class MoveStopSchema(Schema):
    collector_id = id_field(required=True, strict=True)


class MoveResultSchema(Schema):
    visit_id = fields.Integer()
    routes = fields.List(fields.Nested(RouteSchema), metadata={"description": "both routes, re-timed"})
    removed_route_ids = fields.List(fields.Integer(), metadata={"description": "a route left without stops"})
