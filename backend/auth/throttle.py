"""Login throttling: failed logins counted per username and per client address (backend.throttle), so
neither guessing one account from many places nor many accounts from one place gets past
LOGIN_MAX_FAILURES per LOGIN_FAILURE_WINDOW_S. Each refused guess then costs us no Argon2 work (64 MiB
each)."""
from __future__ import annotations

from backend.throttle import FailureThrottle, address_key

LOGINS = FailureThrottle("login", "LOGIN_MAX_FAILURES", "LOGIN_FAILURE_WINDOW_S")


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    return [("username", username.casefold()), address_key(address)]


def check_allowed(username: str, address: str | None) -> None:
    """Raise TooManyAttempts (429, with the seconds until the oldest failure leaves the window) when
    this username or this address has used up its failures."""
    LOGINS.check(_keys(username, address), "too many failed logins")


def record_failure(username: str, address: str | None) -> None:
    """Count a failed login against the username and the address. A success resets nothing: it
    proves nothing about the other addresses guessing the same account."""
    LOGINS.record_failure(_keys(username, address))
