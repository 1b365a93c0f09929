"""Failure throttles: wrong guesses of a secret (a password, an acknowledgement code) counted per key in
Redis with the `limits` library's moving window. Once a key has used up its failures within the window,
every further attempt under it is refused with 429 and Retry-After, a right guess too, until the oldest
failure leaves the window. The counters are shared by every worker; without Redis an attempt is refused
(503, see backend.errors), never let through uncounted."""
from __future__ import annotations

import ipaddress
import logging
import math
import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from backend.errors import DomainError


class TooManyAttempts(DomainError):
    status = 429

    def __init__(self, retry_after: int, message: str, fields: dict | None = None):
        super().__init__("too_many_attempts", f"{message}; try again in {retry_after} s", fields=fields,
                         extra={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


log = logging.getLogger(__name__)


def address_key(address: str | None) -> tuple[str, str]:
    """The key one client's failures count under: its IPv4 address, or its IPv6 /64 (one subscriber
    commonly holds a whole /64, so counting single IPv6 addresses lets them rotate past any limit)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ("address", address or "unknown")
    if parsed.version == 4:
        return ("address", str(parsed))
    if parsed.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
        return ("address", str(parsed.ipv4_mapped))
    return ("address", str(ipaddress.ip_network(f"{parsed}/64", strict=False)))


# Every throttle made, so a test can forget all their counters at once.
_ALL: list[FailureThrottle] = []


class FailureThrottle:
    """At most config[max_setting] failures per key within config[window_setting] seconds.

    name: its Redis key prefix (after QUEUE_PREFIX, so deployments and test runs never meet) and its
    slot in app.extensions (`<name>_throttle`, where a test may put a limiter of its own).
    A key is a tuple of strings, e.g. ("address", "10.0.0.1").
    """

    def __init__(self, name: str, max_setting: str, window_setting: str):
        self.name, self.max_setting, self.window_setting = name, max_setting, window_setting
        _ALL.append(self)

    def _limiter(self) -> tuple[MovingWindowRateLimiter, RateLimitItemPerSecond]:
        app = current_app._get_current_object()
        slot = f"{self.name}_throttle"
        state = app.extensions.get(slot)
        if state is None:
            storage = RedisStorage(app.config["REDIS_URL"],
                                   key_prefix=f"{app.config['QUEUE_PREFIX']}{self.name}-throttle")
            item = RateLimitItemPerSecond(app.config[self.max_setting], app.config[self.window_setting])
            state = app.extensions[slot] = (MovingWindowRateLimiter(storage), item)
        return state

    def wait_s(self, keys: list[tuple[str, ...]]) -> int:
        """Seconds until every key may try again (0: all may now)."""
        limiter, item = self._limiter()
        waits = [0]
        for key in keys:
            if not limiter.test(item, *key):
                reset_at = limiter.get_window_stats(item, *key).reset_time
                waits.append(max(1, math.ceil(reset_at - time.time())))
        return max(waits)

    def check(self, keys: list[tuple[str, ...]], message: str, fields: dict | None = None) -> None:
        """Raise TooManyAttempts (429, Retry-After) when any of these keys has used up its failures."""
        wait = self.wait_s(keys)
        if wait:
            log.warning("%s throttle: refused for %s s (%s)", self.name, wait, message)
            raise TooManyAttempts(wait, message, fields)

    def record_failure(self, keys: list[tuple[str, ...]]) -> None:
        """Count one failure against each key."""
        limiter, item = self._limiter()
        for key in keys:
            limiter.hit(item, *key)

    def reset(self) -> None:
        """Forget every counter of this throttle in this deployment (tests)."""
        limiter, _ = self._limiter()
        limiter.storage.reset()


def reset_all() -> None:
    """Forget every counter of every throttle in this deployment (tests)."""
    for throttle in _ALL:
        throttle.reset()
