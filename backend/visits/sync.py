"""POST /sync: a phone's offline queue applied in order, each event in its own transaction.

Every event names its type and carries its own idempotency_key. The handler a feature registered
for the type stores the event once per key (as its own endpoint does), so an event sent both
directly and again through the queue is applied once. A failed event writes nothing and does not
stop the ones after it.
"""
from __future__ import annotations

import logging

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.errors import DomainError, Forbidden, InvalidInput, flatten_messages
from backend.idempotency import validate_key
from backend.policy.service import default_policy
from backend.sync_registry import register_sync_type, sync_handler, sync_types
from backend.validation import INT_MAX
from backend.visits.outcomes import record_outcome
from backend.visits.schemas import OutcomeInSchema

log = logging.getLogger(__name__)
ENVELOPE = ("idempotency_key", "type")


def check_batch(body) -> list:
    """Return the events of a sync body, or 422/413 naming the problem."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise InvalidInput("events", "expected {\"events\": [...]}")
    limit = default_policy()["visits.sync_max_events"]
    if len(body["events"]) > limit:
        raise DomainError("too_large", f"at most {limit} events per sync", status=413,
                          fields={"events": f"at most {limit}"})
    return body["events"]


def _error(exc: DomainError) -> dict:
    return {"code": exc.code, "message": exc.message, "fields": exc.fields, **exc.extra}


def apply_event(session: Session, user: User, event) -> dict:
    """Apply one event and commit it, or roll it back and say why."""
    key = event.get("idempotency_key") if isinstance(event, dict) else None
    try:
        if not isinstance(event, dict):
            raise InvalidInput("event", "expected an object")
        # validate_key expects text: a number or a list is as good as no key.
        validate_key(key if isinstance(key, str) else None, field="idempotency_key")
        handler = sync_handler(event.get("type"))
        if handler is None:
            raise InvalidInput("type", f"unknown event type; one of {', '.join(sync_types())}")
        status, body = handler(session, user, event)
        session.commit()
        return {"idempotency_key": key, "status": status, "body": body}
    except DomainError as exc:
        session.rollback()
        return {"idempotency_key": key, "status": exc.status, "error": _error(exc)}
    except Exception:  # one broken event must not sink the rest of the queue
        session.rollback()
        log.exception("sync event %r failed", key)
        return {"idempotency_key": key, "status": 500,
                "error": {"code": "internal_error", "message": "internal error", "fields": {}}}


def apply_events(session: Session, user: User, events: list) -> list[dict]:
    """Apply events in order; one result per event."""
    user_id = user.id
    session.commit()  # each event starts on a transaction boundary: its rollback undoes only itself
    results = []
    for event in events:
        results.append(apply_event(session, session.get(User, user_id), event))
    return results


def outcome_event(session: Session, user: User, event: dict) -> tuple[int, dict]:
    """A visit outcome from the offline queue: {type: "outcome", idempotency_key, visit_id, ...}."""
    if user.role is not Role.COLLECTOR:
        raise Forbidden("only collectors report visit outcomes")
    visit_id = event.get("visit_id")
    if not isinstance(visit_id, int) or isinstance(visit_id, bool) or not 0 < visit_id <= INT_MAX:
        raise InvalidInput("visit_id", "required: the visit's id")
    try:
        data = OutcomeInSchema().load({k: v for k, v in event.items() if k not in (*ENVELOPE, "visit_id")})
    except ValidationError as exc:
        fields = flatten_messages(exc.messages)
        raise DomainError("validation_error", "; ".join(f"{k}: {v}" for k, v in fields.items()), status=422,
                          fields=fields) from exc
    status, body, _ = record_outcome(session, visit_id=visit_id, collector=user, key=event["idempotency_key"],
                                     data=data, region=current_app.config["DEFAULT_REGION"])
    return status, body


register_sync_type("outcome", outcome_event)
