"""The HTTP side of the door: an endpoint applies the same registered write /sync applies, and commits."""
from __future__ import annotations

from flask import request

from backend.auth.access import Caller, current_user
from backend.auth.models import User
from backend.extensions import db
from backend.sync.once import Apply, once_per_key
from backend.sync.registry import SyncType, Write


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (validated by once_per_key)."""
    return request.headers.get("Idempotency-Key")


def submit(sync_type: SyncType, fields: dict, *, user: User | Caller | None = None, target_id: int | None = None,
           raw: dict | None = None) -> tuple[dict, int]:
    """Apply a validated body as sync_type does from the queue (once per Idempotency-Key); commit.

    raw is the JSON body as sent (for writes fingerprinted on it); defaults to the request's.
    """
    write = Write(fields=fields, raw=request.get_json(silent=True) if raw is None else raw, key=idempotency_key(),
                  target_id=target_id)
    status, body = sync_type.apply(db.session, current_user() if user is None else user, write)
    db.session.commit()
    return body, status


def respond_once(scope: str, apply: Apply) -> tuple[dict, int]:
    """For an endpoint-only write: apply once per Idempotency-Key (when the client sends one); commit."""
    status, body = once_per_key(db.session, user_id=current_user().id, key=idempotency_key(), scope=scope,
                                payload=request.get_json(silent=True), apply=apply)
    db.session.commit()
    return body, status
