"""POST /sync: a phone's offline queue applied in order, each event in its own transaction.

Every event names its type and carries its own idempotency_key. The type's registered SyncType
stores the event once per key (as its own endpoint does), so an event sent both directly and again
through the queue is applied once. A failed event writes nothing and does not stop the ones after it.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.errors import DomainError, InvalidInput
from backend.idempotency import validate_key
from backend.policy.service import default_policy
from backend.sync.registry import sync_handler, sync_types

log = logging.getLogger(__name__)


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
    """Apply one event and commit it, or roll it back and say why (each event is its own transaction)."""
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
