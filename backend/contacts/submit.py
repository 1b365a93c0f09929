"""Submitting a contact attempt, from its endpoint or from a phone's offline queue (`POST /sync`).

Both go through ATTEMPT's apply and store an attempt once per Idempotency-Key with the same
fingerprint ({case_id, ...body as sent}), so an attempt sent directly and again through the queue is
stored once.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.cases.models import Case
from backend.contacts import attempts
from backend.contacts.promises import record_promise
from backend.contacts.schemas import AttemptInSchema, AttemptSchema
from backend.sync.once import once_per_key
from backend.sync.registry import SyncType, Write

SCOPE = "contact_attempt"
LOGGERS = (Role.COLLECTOR, Role.DISPATCHER, Role.SUPERVISOR)


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


def apply_attempt(session: Session, user: User, write: Write) -> tuple[int, dict]:
    """Store an attempt for a user allowed on the case; once per key when the client sends one."""
    case = attempts.get_case(session, write.target_id)
    attempts.require_case_access(session, user, case.id)
    return once_per_key(session, user_id=user.id, key=write.key, scope=SCOPE,
                        payload={"case_id": case.id, **(write.raw or {})},
                        apply=lambda: store_attempt(session, case=case, body=write.fields, actor_id=user.id))


ATTEMPT = SyncType(SCOPE, SCOPE, AttemptInSchema(), LOGGERS, apply_attempt, target=("case_id", "case"),
                   refused="your role does not log contact attempts")
