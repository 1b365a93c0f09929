"""Store a client's retried request once: the first response is kept and replayed for its key.

The mobile app queues reports offline and resends them; each carries an Idempotency-Key (a client
UUID). A replay with the same body gets the stored response (200); a different body under the same
key is a 409. Concurrent identical submissions serialise on an advisory lock, so one is stored.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.errors import DomainError
from backend.extensions import db
from backend.timeutil import utcnow

KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,100}$"


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(100))
    scope: Mapped[str] = mapped_column(sa.String(60))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int] = mapped_column()
    body: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)


def fingerprint(scope: str, payload) -> str:
    """Hash of what the client sent, to tell a replay from a different request under the same key."""
    canonical = json.dumps({"scope": scope, "payload": payload}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str | None, field: str = "Idempotency-Key") -> str:
    """Return the key or raise a 422 naming the header."""
    import re

    if not key or not re.match(KEY_PATTERN, key):
        raise DomainError("validation_error", f"{field} is required: a client-generated UUID", status=422,
                          fields={field: "required, 8-100 characters [A-Za-z0-9_.:-]"})
    return key


def run_once(session: Session, *, user_id: int, key: str, scope: str, payload,
             handler: Callable[[], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run handler once per (user, key); return (status, body, replayed). The caller commits.

    A replay returns the first response with status 200 (it was 201 the first time).
    """
    request_hash = fingerprint(scope, payload)
    # Serialise submissions of the same key; the lock ends with the transaction.
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{user_id}:{key}", 0))))
    stored = session.scalar(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    if stored is not None:
        if stored.request_hash != request_hash or stored.scope != scope:
            raise DomainError("idempotency_key_reused",
                              "this Idempotency-Key was already used for a different request",
                              fields={"Idempotency-Key": "already used with a different body"})
        return (200 if stored.status == 201 else stored.status), stored.body, True
    status, body = handler()
    session.add(IdempotencyRecord(user_id=user_id, key=key, scope=scope, request_hash=request_hash,
                                  status=status, body=json.loads(json.dumps(body, default=str)),
                                  created_at=utcnow()))
    session.flush()
    return status, body, False
