"""Event types the offline queue (`POST /sync`) can carry, registered by the features that own them."""
from __future__ import annotations

from collections.abc import Callable

# handler(session, user, event: dict) -> (status, body); raise DomainError for a refused event.
SyncHandler = Callable[..., tuple[int, dict]]
_HANDLERS: dict[str, SyncHandler] = {}


def register_sync_type(event_type: str, handler: SyncHandler) -> None:
    """Let POST /sync apply events of this type with handler."""
    _HANDLERS[event_type] = handler


def sync_handler(event_type: str) -> SyncHandler | None:
    """Return the handler for an event type, or None (also for a type that is not a string)."""
    return _HANDLERS.get(event_type) if isinstance(event_type, str) else None


def sync_types() -> list[str]:
    """Every registered event type."""
    return sorted(_HANDLERS)
