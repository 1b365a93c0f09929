"""Request and response shapes for the outbox and a user's delivery settings."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from backend.notify.models import Channel, NotificationStatus
from backend.notify.templates import LOCALES
from backend.pagination import PageQuerySchema
from backend.validation import day_field, id_field, moment_field

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class NotificationQuerySchema(PageQuerySchema):
    alert_id = id_field()
    promise_id = id_field()
    visit_id = id_field()
    user_id = id_field()
    status = fields.String(validate=validate.OneOf([s.value for s in NotificationStatus]))
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))
    on = day_field(metadata={"description": "created on this UTC day"})
    since = moment_field()
    until = moment_field()


class NotificationSchema(Schema):
    id = fields.Integer()
    channel = fields.String()
    user_id = fields.Integer(allow_none=True)
    to_phone = fields.String(allow_none=True)
    to_email = fields.String(allow_none=True)
    template = fields.String()
    locale = fields.String()
    text = fields.String()
    alert_id = fields.Integer(allow_none=True)
    level = fields.Integer(allow_none=True)
    promise_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf([s.value for s in NotificationStatus]), metadata={
        "description": "queued → sending → sent | failed; cancelled: moot before it left (an acknowledged "
                       "alert); refused: a rule stopped it before it was queued (a promise reminder the "
                       "contact rules refused: do-not-contact, a cap), never sent"})
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={
        "description": "why it failed, was cancelled or was refused (refused: each rule's code and message, "
                       "`code: message; …`)"})
    provider = fields.String(allow_none=True)
    provider_message_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    not_before = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class MyNotificationsSchema(Schema):
    user_id = fields.Integer(dump_only=True)
    channels = fields.List(fields.String(validate=validate.OneOf([c.value for c in Channel])),
                           validate=validate.Length(max=4))
    quiet_start = fields.String(allow_none=True, metadata={"description": "HH:MM local time, or null"})
    quiet_end = fields.String(allow_none=True)
    locale = fields.String(validate=validate.OneOf(LOCALES))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    push_registration_id = fields.String(allow_none=True, validate=validate.Length(max=200))
    timezone = fields.String(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)

    @validates("quiet_start")
    def _start(self, value, **_):
        if value is not None and not HHMM.match(value):
            raise ValidationError("must be HH:MM (00:00-23:59)")

    @validates("quiet_end")
    def _end(self, value, **_):
        if value is not None and not HHMM.match(value):
            raise ValidationError("must be HH:MM (00:00-23:59)")

    @validates_schema
    def _pair(self, data, **_):
        if ("quiet_start" in data) != ("quiet_end" in data) or (
                (data.get("quiet_start") is None) != (data.get("quiet_end") is None)):
            raise ValidationError("give quiet_start and quiet_end together (both null to clear)", "quiet_end")
