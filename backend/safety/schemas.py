"""Request and response shapes for field safety (times out as ISO 8601 strings, points as GeoJSON)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from backend.geo import PositionSchema, lat_field, lon_field
from backend.pagination import PageQuerySchema
from backend.safety.alerts import STATE_FILTERS
from backend.safety.models import AlertKind, CheckinKind, PlaceKind
from backend.validation import id_field, moment_field


class CheckinSchema(PositionSchema):
    kind = fields.Enum(CheckinKind, by_value=True, required=True)
    lat = lat_field(required=True)
    lon = lon_field(required=True)
    recorded_at = moment_field(required=True)
    visit_id = id_field(allow_none=True, load_default=None, strict=True)
    next_checkin_by = moment_field(allow_none=True, load_default=None)


class CheckinOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    recorded_at = fields.String()
    received_at = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    visit_id = fields.Integer(allow_none=True)
    next_checkin_by = fields.String(allow_none=True)
    shift_open = fields.Boolean()


class SosSchema(PositionSchema):
    lat = lat_field(required=True)
    lon = lon_field(required=True)
    recorded_at = moment_field(required=True)
    note = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))
    duress = fields.Boolean(load_default=False)


class SosOutSchema(CheckinOutSchema):
    """The answer to an SOS: the alert raised. Under duress it is a check-in's answer instead (the
    CheckinOut fields), so whoever watches the screen sees nothing else; so no field is required."""

    state = fields.String()
    level = fields.Integer()
    level_name = fields.String()
    raised_at = fields.String()


class StatusSchema(Schema):
    shift_open = fields.Boolean()
    started_at = fields.String(allow_none=True)
    last_checkin_at = fields.String(allow_none=True)
    last_position = fields.Dict(allow_none=True)
    next_checkin_by = fields.String(allow_none=True)
    missed_checkin_reminder = fields.Boolean()


class LodgingSchema(PositionSchema):
    kind = fields.Enum(PlaceKind, by_value=True, load_default=PlaceKind.LODGING)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default="", validate=validate.Length(max=500))
    lat = lat_field(required=True)
    lon = lon_field(required=True)
    check_in = moment_field(required=True)
    check_out = moment_field(allow_none=True, load_default=None)

    @validates("name")
    def _name(self, value, **_):
        if not value.strip():
            raise ValidationError("must not be blank")


class WarningSchema(Schema):
    code = fields.String()
    message = fields.String()
    visit_ids = fields.List(fields.Integer())
    lodging_ids = fields.List(fields.Integer())
    distance_m = fields.Integer()
    nights = fields.Integer()
    kinds = fields.List(fields.String())


class LodgingOutSchema(Schema):
    id = fields.Integer()
    collector_id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    address = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    check_in = fields.String()
    check_out = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)
    warnings = fields.List(fields.Nested(WarningSchema))


class LodgingQuerySchema(PageQuerySchema):
    collector_id = id_field()
    kind = fields.String(validate=validate.OneOf([k.value for k in PlaceKind]))
    since = moment_field()
    # A dispatcher's stated reason to read a collector's places with no alert open (audited with the read).
    reason = fields.String(validate=validate.Length(min=3, max=500))


class LodgingReadSchema(Schema):
    reason = fields.String(validate=validate.Length(min=3, max=500))


class AlertQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf(list(STATE_FILTERS)))
    kind = fields.String(validate=validate.OneOf([k.value for k in AlertKind]))
    collector_id = id_field()


class ResolveSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates("reason")
    def _reason(self, value, **_):
        if not value.strip():
            raise ValidationError("must not be blank")


class AckSchema(Schema):
    code = fields.String(validate=validate.Length(min=4, max=12),
                         metadata={"description": "the short code of a staff message of this alert"})
    token = fields.String(validate=validate.Length(min=10, max=500), metadata={"description": "a signed link's token"})


class AckQuerySchema(Schema):
    token = fields.String(validate=validate.Length(min=10, max=500), metadata={"description": "a signed link's token"})


class DeliverySchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    user_name = fields.String(allow_none=True)
    channel = fields.String()
    level = fields.Integer(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    sent_at = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)


class AlertEventSchema(Schema):
    action = fields.String()
    level = fields.Integer()
    actor_id = fields.Integer(allow_none=True)
    at = fields.String()
    note = fields.String()


class AlertSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    collector_id = fields.Integer(allow_none=True)
    collector = fields.Dict(allow_none=True)
    state = fields.String()
    level = fields.Integer()
    level_name = fields.String()
    duress = fields.Boolean()
    raised_at = fields.String()
    notified_at = fields.String()
    deadline = fields.String(allow_none=True)
    last_position = fields.Dict(allow_none=True)
    position_at = fields.String(allow_none=True)
    # "at declared lodging" (and no last_position) when the last check-in was the collector's lodging.
    whereabouts = fields.String(allow_none=True)
    visit = fields.Dict(allow_none=True)
    note = fields.String()
    acknowledged_by_id = fields.Integer(allow_none=True)
    acknowledged_at = fields.String(allow_none=True)
    resolved_by_id = fields.Integer(allow_none=True)
    resolved_at = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    events = fields.List(fields.Nested(AlertEventSchema))
    deliveries = fields.List(fields.Nested(DeliverySchema))


class BoardSchema(Schema):
    generated_at = fields.String()
    collectors = fields.List(fields.Dict())
    other_alerts = fields.List(fields.Dict())
