"""Submitting a contact attempt, from its endpoint or from a phone's offline queue (`POST /sync`).

Both store an attempt once per Idempotency-Key with the same fingerprint ({case_id, ...body}), so an
attempt sent directly and again through the queue is stored once.
"""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.cases.models import Case
from backend.contacts import attempts
from backend.contacts.promises import record_promise
from backend.contacts.schemas import AttemptInSchema, AttemptSchema
from backend.errors import DomainError, Forbidden, InvalidInput, flatten_messages
from backend.idempotency import run_once
from backend.sync_registry import register_sync_type
from backend.validation import INT_MAX

SCOPE = "contact_attempt"
LOGGERS = (Role.COLLECTOR, Role.DISPATCHER, Role.SUPERVISOR)
ENVELOPE = ("idempotency_key", "type", "case_id")


def store_attempt(session: Session, *, case: Case, body: dict, actor_id: int) -> tuple[int, dict]:
    """Log the attempt (rules enforced) and its promise, if any; return (201, the attempt's view)."""
    attempt = attempts.log_attempt(
        session, case_id=case.id, party=body["party"], channel=body["channel"], started_at=body["started_at"],
        result=body["result"], notes=body["notes"], late_entry=body["late_entry"],
        asked_not_to_be_contacted=body["asked_not_to_be_contacted"], actor_id=actor_id, source="manual")
    view = {**AttemptSchema().dump(attempt), "promise_id": None}
    if body.get("promise"):
        promise = record_promise(session, case_id=case.id, contact_id=attempt.contact_id, source=attempt.channel.value,
                                 promised_at=attempt.started_at, attempt_id=attempt.id, actor_id=actor_id,
                                 field_prefix="promise.", **body["promise"])
        view["promise_id"] = promise.id
    return 201, view


def submit_attempt(session: Session, *, user: User, case_id: int, body: dict, raw: dict | None,
                   key: str | None) -> tuple[int, dict]:
    """Store an attempt for a user allowed on the case; once per key when the client sends one."""
    case = attempts.get_case(session, case_id)
    attempts.require_case_access(session, user, case.id)
    if key is None:
        return store_attempt(session, case=case, body=body, actor_id=user.id)
    status, view, _ = run_once(session, user_id=user.id, key=key, scope=SCOPE, payload={"case_id": case.id, **(raw or {})},
                               handler=lambda: store_attempt(session, case=case, body=body, actor_id=user.id))
    return status, view


def attempt_event(session: Session, user: User, event: dict) -> tuple[int, dict]:
    """A contact attempt from the offline queue: {type: "contact_attempt", idempotency_key, case_id, ...}."""
    if user.role not in LOGGERS:
        raise Forbidden("your role does not log contact attempts")
    case_id = event.get("case_id")
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id <= INT_MAX:
        raise InvalidInput("case_id", "required: the case's id")
    raw = {k: v for k, v in event.items() if k not in ENVELOPE}
    try:
        body = AttemptInSchema().load(raw)
    except ValidationError as exc:
        fields = flatten_messages(exc.messages)
        raise DomainError("validation_error", "; ".join(f"{k}: {v}" for k, v in fields.items()), status=422,
                          fields=fields) from exc
    return submit_attempt(session, user=user, case_id=case_id, body=body, raw=raw, key=event["idempotency_key"])


register_sync_type("contact_attempt", attempt_event)
