"""The one once-per-key wrapper, and the one "load the fields or 422 naming them" step."""
from __future__ import annotations

from collections.abc import Callable

from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session

from backend.errors import DomainError, flatten_messages
from backend.idempotency import run_once, validate_key

Apply = Callable[[], tuple[int, dict]]


def once_per_key(session: Session, *, user_id: int, key: str | None, scope: str, payload, apply: Apply,
                 required: bool = False) -> tuple[int, dict]:
    """Run apply once per (user, key): the first (status, body), then a replay (200, same body).

    Without a key, apply runs as is, unless the write needs one (required: 422 naming the header).
    A different payload under a used key is a 409. The caller commits.
    """
    if key is None and not required:
        return apply()
    status, body, _ = run_once(session, user_id=user_id, key=validate_key(key), scope=scope, payload=payload,
                               handler=apply)
    return status, body


def load_fields(schema: Schema, raw) -> dict:
    """The schema's load of raw, or a 422 naming every bad field (nested ones as `a.b`)."""
    try:
        return schema.load(raw)
    except ValidationError as exc:
        fields = flatten_messages(exc.messages)
        raise DomainError("validation_error", "; ".join(f"{k}: {v}" for k, v in fields.items()), status=422,
                          fields=fields) from exc
