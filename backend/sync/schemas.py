"""The shapes of `POST /sync`, for the OpenAPI document (the body is checked event by event)."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from backend.errors import ErrorDetailSchema
from backend.idempotency import KEY_PATTERN


class SyncEventSchema(Schema):
    """One queued write: its type, its own key, and the fields its endpoint takes (plus the target id,
    e.g. `visit_id` for an outcome, `case_id` for a contact attempt)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "a registered event type, e.g. outcome, "
                                                                 "checkin, sos, lodging, contact_attempt"})
    idempotency_key = fields.String(required=True, validate=validate.Regexp(KEY_PATTERN))


class SyncRequestSchema(Schema):
    events = fields.List(fields.Nested(SyncEventSchema), required=True,
                         metadata={"description": "applied in order; at most visits.sync_max_events"})


class SyncResultSchema(Schema):
    """One event's result: `body` as its endpoint answers, or `error` as its endpoint would refuse it."""

    idempotency_key = fields.Raw(required=True, allow_none=True,
                                 metadata={"description": "the event's key as sent (so a refused event with "
                                                          "a missing or malformed key is still matched)"})
    status = fields.Integer(required=True, metadata={"description": "the status its endpoint would answer"})
    body = fields.Dict(keys=fields.String())
    error = fields.Nested(ErrorDetailSchema)


class SyncResponseSchema(Schema):
    results = fields.List(fields.Nested(SyncResultSchema), required=True)
