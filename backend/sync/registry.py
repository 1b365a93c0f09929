"""The event types the offline queue (`POST /sync`) carries, registered explicitly by their features."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from marshmallow import Schema
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.errors import Forbidden, InvalidInput
from backend.sync.once import load_fields
from backend.validation import INT_MAX

# What every event carries besides its fields.
ENVELOPE = ("idempotency_key", "type")


@dataclass(frozen=True)
class Write:
    """One validated write, however it arrived: its fields, the raw body they came from, the key."""

    fields: dict
    raw: dict
    key: str | None
    target_id: int | None = None


# apply(session, user, write) -> (status, body): stores the write once per key (sync.once_per_key with
# the type's scope) and raises DomainError to refuse it. It does not commit.
ApplyWrite = Callable[[Session, User, Write], tuple[int, dict]]


@dataclass(frozen=True)
class SyncType:
    """An offline write: its event type, idempotency scope, field schema, who may send it, how it applies.

    target names the id an event carries outside its fields (the URL's id on the endpoint), e.g.
    ("visit_id", "visit"). refused is the 403 message for a role that may not send it.
    """

    type: str
    scope: str
    schema: Schema
    roles: tuple[Role, ...]
    apply: ApplyWrite
    target: tuple[str, str] | None = None
    refused: str = "your role does not send this event"

    def __call__(self, session: Session, user: User, event: dict) -> tuple[int, dict]:
        """Apply one queued event: role, target id, fields (422 naming them), then apply."""
        if user.role not in self.roles:
            raise Forbidden(self.refused)
        target_id = None
        excluded = ENVELOPE
        if self.target is not None:
            name, noun = self.target
            target_id = event.get(name)
            if not isinstance(target_id, int) or isinstance(target_id, bool) or not 0 < target_id <= INT_MAX:
                raise InvalidInput(name, f"required: the {noun}'s id")
            excluded = (*ENVELOPE, name)
        raw = {key: value for key, value in event.items() if key not in excluded}
        return self.apply(session, user, Write(fields=load_fields(self.schema, raw), raw=raw,
                                               key=event.get("idempotency_key"), target_id=target_id))


# event type -> handler(session, user, event) -> (status, body); a SyncType is such a handler.
_HANDLERS: dict[str, Callable[..., tuple[int, dict]]] = {}


def register_sync_type(sync_type: SyncType) -> None:
    """Let POST /sync carry events of this type (registering it again replaces it)."""
    _HANDLERS[sync_type.type] = sync_type


def sync_handler(event_type) -> Callable[..., tuple[int, dict]] | None:
    """Return the handler for an event type, or None (also for a type that is not a string)."""
    return _HANDLERS.get(event_type) if isinstance(event_type, str) else None


def sync_types() -> list[str]:
    """Every registered event type."""
    return sorted(_HANDLERS)
