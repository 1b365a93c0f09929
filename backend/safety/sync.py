"""Safety events applied once per idempotency key, from their endpoints or the offline queue.

A phone may send a check-in, a lodging or an SOS directly and again through `POST /sync` under
the same key: both paths fingerprint the validated fields under the same scope, so it is stored
once and the second delivery replays the first answer.
"""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.errors import DomainError, Forbidden, flatten_messages
from backend.idempotency import run_once, validate_key
from backend.safety.checkins import checkin_view, record_checkin
from backend.safety.lodgings import lodging_view, register_lodging
from backend.safety.schemas import CheckinSchema, LodgingSchema, SosSchema
from backend.safety.sos import submit_sos
from backend.sync_registry import register_sync_type

ENVELOPE = ("idempotency_key", "type")


def apply_checkin(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Record a check-in; answer with the next deadline."""
    return 201, checkin_view(record_checkin(session, collector=user, **fields))


def apply_lodging(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Declare a lodging or meal place; answer with its warnings."""
    lodging, warnings = register_lodging(session, collector=user, **fields)
    return 201, {**lodging_view(lodging), "warnings": warnings}


def apply_sos(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Raise an SOS (an SOS queued while offline still raises the alert when it arrives)."""
    return submit_sos(session, collector=user, **fields)


EVENTS = {
    "checkin": ("safety.checkin", CheckinSchema, apply_checkin),
    "lodging": ("safety.lodging", LodgingSchema, apply_lodging),
    "sos": ("safety.sos", SosSchema, apply_sos),
}


def apply_once(session: Session, user: User, event_type: str, fields: dict, key: str | None) -> tuple[int, dict]:
    """Apply validated fields once per (user, key); without a key, just apply. The caller commits."""
    scope, _, apply = EVENTS[event_type]
    if key is None:
        return apply(session, user, fields)
    status, body, _ = run_once(session, user_id=user.id, key=validate_key(key), scope=scope, payload=fields,
                               handler=lambda: apply(session, user, fields))
    return status, body


def _sync_handler(event_type: str):
    schema = EVENTS[event_type][1]

    def handle(session: Session, user: User, event: dict) -> tuple[int, dict]:
        if user.role is not Role.COLLECTOR:
            raise Forbidden("only collectors send safety events")
        try:
            fields = schema().load({key: value for key, value in event.items() if key not in ENVELOPE})
        except ValidationError as exc:
            flat = flatten_messages(exc.messages)
            raise DomainError("validation_error", "; ".join(f"{k}: {v}" for k, v in flat.items()), status=422,
                              fields=flat) from exc
        return apply_once(session, user, event_type, fields, event.get("idempotency_key"))

    handle.__doc__ = f"Apply a queued {event_type} event."
    return handle


def register_sync_types() -> None:
    """Let POST /sync carry safety events."""
    for event_type in EVENTS:
        register_sync_type(event_type, _sync_handler(event_type))
