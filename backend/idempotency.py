"""Store a client's retried request once: the first response is kept and replayed for its key.

The mobile app queues reports offline and resends them; each carries an Idempotency-Key (a client
UUID). A replay with the same body gets the stored response (200); a different body under the same
key is a 409. Concurrent identical submissions serialise on the key's unique index, so one is stored.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.dbtypes import driver
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

    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        raise DomainError("validation_error", f"{field} is required: a client-generated UUID", status=422,
                          fields={field: "required, 8-100 characters [A-Za-z0-9_.:-]"})
    return key


# A claim on the key: the unique (user_id, key) index makes a concurrent claim of the same key wait
# until this transaction ends, then find the key taken (or free again after a rollback). Every report
# from the field passes here, so these run as plain SQL on the session's own DBAPI connection (same
# transaction): SQLAlchemy's execution layer cost more than the statements.
_CLAIM = """
INSERT INTO idempotency_records (user_id, key, scope, request_hash, status, body, created_at)
VALUES (%(user_id)s, %(key)s, %(scope)s, %(request_hash)s, 0, '{}'::jsonb, %(created_at)s)
ON CONFLICT (user_id, key) DO NOTHING RETURNING id
"""
_STORED = "SELECT scope, request_hash, status, body FROM idempotency_records WHERE user_id = %(user_id)s AND key = %(key)s"
_KEEP = "UPDATE idempotency_records SET status = %(status)s, body = %(body)s::jsonb WHERE id = %(id)s"
_RELEASE = "DELETE FROM idempotency_records WHERE id = %(id)s"


def run_once(session: Session, *, user_id: int, key: str, scope: str, payload,
             handler: Callable[[], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run handler once per (user, key); return (status, body, replayed). The caller commits.

    A replay returns the first response with status 200 (it was 201 the first time). A concurrent
    submission of the same key waits for the first one's transaction, then replays what it stored.
    """
    request_hash = fingerprint(scope, payload)
    ids = {"user_id": user_id, "key": key}
    connection = driver(session)
    while True:
        claimed = connection.execute(_CLAIM, {**ids, "scope": scope, "request_hash": request_hash,
                                          "created_at": utcnow()}).fetchone()
        if claimed is not None:
            break
        stored = connection.execute(_STORED, ids).fetchone()
        if stored is not None:
            return _replay(*stored, scope=scope, request_hash=request_hash)
        # The record was deleted between the two statements: claim again.
    try:
        status, body = handler()
    except Exception:
        # Callers roll back on an error; if one kept the transaction, no claim without a response is left
        # (in a transaction the error aborted, there is nothing to release).
        with contextlib.suppress(psycopg.Error):
            connection.execute(_RELEASE, {"id": claimed[0]})
        raise
    connection.execute(_KEEP, {"id": claimed[0], "status": status, "body": json.dumps(body, default=str)})
    return status, body, False


def _replay(stored_scope: str, stored_hash: str, status: int, body: dict, *, scope: str,
            request_hash: str) -> tuple[int, dict, bool]:
    """The stored response (201 becomes 200), or 409 when the key came with a different request."""
    if stored_hash != request_hash or stored_scope != scope:
        raise DomainError("idempotency_key_reused", "this Idempotency-Key was already used for a different request",
                          fields={"Idempotency-Key": "already used with a different body"})
    return (200 if status == 201 else status), body, True
