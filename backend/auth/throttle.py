"""Login throttling: failed logins counted per username and per client address in Redis (the `limits`
library's moving window), so neither guessing one account from many places nor many accounts from
one place gets past LOGIN_MAX_FAILURES per LOGIN_FAILURE_WINDOW_S. Each refused guess then costs us
no Argon2 work (64 MiB each)."""
from __future__ import annotations

import math
import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from backend.errors import DomainError


class TooManyAttempts(DomainError):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__("too_many_attempts", f"too many failed logins; try again in {retry_after} s",
                         extra={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def _limiter() -> tuple[MovingWindowRateLimiter, RateLimitItemPerSecond]:
    app = current_app._get_current_object()
    state = app.extensions.get("login_throttle")
    if state is None:
        # Its own key prefix per deployment (QUEUE_PREFIX), like the queues, so test runs never meet.
        storage = RedisStorage(app.config["REDIS_URL"], key_prefix=f"{app.config['QUEUE_PREFIX']}login-throttle")
        item = RateLimitItemPerSecond(app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_FAILURE_WINDOW_S"])
        state = app.extensions["login_throttle"] = (MovingWindowRateLimiter(storage), item)
    return state


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    return [("username", username.casefold()), ("address", address or "unknown")]


def check_allowed(username: str, address: str | None) -> None:
    """Raise TooManyAttempts (429, with the seconds until the oldest failure leaves the window) when
    this username or this address has used up its failures."""
    limiter, item = _limiter()
    waits = []
    for kind, value in _keys(username, address):
        if not limiter.test(item, kind, value):
            reset_at = limiter.get_window_stats(item, kind, value).reset_time
            waits.append(max(1, math.ceil(reset_at - time.time())))
    if waits:
        raise TooManyAttempts(max(waits))


def record_failure(username: str, address: str | None) -> None:
    """Count a failed login against the username and the address. A success resets nothing: it
    proves nothing about the other addresses guessing the same account."""
    limiter, item = _limiter()
    for kind, value in _keys(username, address):
        limiter.hit(item, kind, value)


def reset_all() -> None:
    """Forget every counter of this deployment (tests)."""
    limiter, _ = _limiter()
    limiter.storage.reset()
