"""Request and response shapes for tokens and users."""
from __future__ import annotations

import phonenumbers
from flask import has_request_context, request
from marshmallow import Schema, ValidationError, fields, validate, validates

from backend.auth.models import Role
from backend.auth.passwords import MIN_PASSWORD_LENGTH
from backend.geo import LatLonSchema, point_latlon
from backend.pagination import PageQuerySchema
from backend.timeutil import validate_timezone

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    role = fields.String()
    user_id = fields.Integer()
    expires_at = fields.DateTime()


class UserWriteSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{2,80}$"))
    # The length shows in the OpenAPI document; the service refuses common and guessable ones too.
    password = fields.String(required=True, load_only=True, validate=validate.Length(
        min=MIN_PASSWORD_LENGTH, max=200, error="must be at least {min} characters (and at most {max})"))
    role = fields.Enum(Role, by_value=True, required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(validate=validate.Length(max=40), allow_none=True)
    timezone = fields.String(load_default="Asia/Shanghai")
    home = fields.Nested(LatLonSchema, allow_none=True)
    shift_start = fields.String(load_default="08:30", validate=validate.Regexp(HHMM, error="expected HH:MM"))
    shift_end = fields.String(load_default="18:00", validate=validate.Regexp(HHMM, error="expected HH:MM"))
    max_visits_per_day = fields.Integer(load_default=12, validate=validate.Range(min=0, max=100), strict=True)
    skills = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list)
    team_size = fields.Integer(load_default=1, validate=validate.Range(min=1, max=4), strict=True)
    areas = fields.List(fields.String(validate=validate.Regexp(r"^\d{2,12}$", error="an administrative code")),
                        load_default=list, validate=validate.Length(max=200), metadata={
                            "description": "districts a dispatcher covers (codes such as 510107; a city code "
                                           "covers its districts); empty: everywhere"})
    active = fields.Boolean(load_default=True)

    @validates("timezone")
    def _timezone(self, value, **_):
        validate_timezone(value)

    @validates("home")
    def _home(self, value, **_):
        # A PATCH loads with partial=True, which reaches into the nested point too.
        if value is not None and not {"lat", "lon"} <= set(value):
            raise ValidationError("both lat and lon are required")

    @validates("phone")
    def _phone(self, value, **_):
        if value is None:
            return
        try:
            parsed = phonenumbers.parse(value, "CN")
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(f"not a phone number: {exc}") from exc
        if not phonenumbers.is_valid_number(parsed):
            raise ValidationError("not a valid phone number")


class UserPatchSchema(UserWriteSchema):
    """The same fields, all optional (instantiate with partial=True)."""


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.Function(lambda u: u.role.value)
    name = fields.String()
    phone = fields.String(allow_none=True)
    timezone = fields.String()
    home = fields.Method("_home")
    shift_start = fields.Function(lambda u: u.shift_start.strftime("%H:%M"))
    shift_end = fields.Function(lambda u: u.shift_end.strftime("%H:%M"))
    max_visits_per_day = fields.Integer()
    skills = fields.List(fields.String())
    team_size = fields.Integer()
    areas = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()

    def _home(self, user):
        # A collector's home is theirs: shown to themself and to an admin editing the account, only when
        # the route said so (home_visible), never in lists.
        if not has_request_context() or user.id not in request.environ.get(HOME_VISIBLE, ()):
            return None
        latlon = point_latlon(user.home)
        return {"lat": latlon[0], "lon": latlon[1]} if latlon else None


class UserQuerySchema(PageQuerySchema):
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean()


# Kept on the request itself, not on `g`: an app context may outlive one request (a CLI, a test),
# and a permission to show a home must never carry over to the next answer.
HOME_VISIBLE = "fieldtrace.home_visible_for"


def home_visible(user_id: int) -> None:
    """Let this request's answer carry the home of user_id (the route decided the caller may see it)."""
    request.environ[HOME_VISIBLE] = {*request.environ.get(HOME_VISIBLE, ()), user_id}
