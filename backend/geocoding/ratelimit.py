"""A per-provider request rate shared by every worker, kept in Redis (a sliding one-second window)."""
from __future__ import annotations

import time
import uuid

from redis import Redis

# Atomically: drop entries older than the window, and admit this request if fewer than `limit` remain.
_ADMIT = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(oldest[2] + window - now)
"""


WINDOW_MARGIN = 1.05


class RateLimiter:
    """At most `rate_per_s` requests per second to one provider, across processes and machines."""

    def __init__(self, client: Redis, key: str, rate_per_s: float):
        self.client, self.key = client, key
        # A fractional rate (1 req/s → 1 per 1 s; 0.5 → 1 per 2 s) as `limit` requests per `window` seconds.
        limit, window = (max(1, int(rate_per_s)), max(1.0, 1.0 / rate_per_s) if rate_per_s < 1 else 1.0)
        # Requests reach the provider a network hop after we admit them, not evenly late: a window a
        # little wider than the provider's keeps its count of any second at or under the limit.
        self.limit, self.window = limit, window * WINDOW_MARGIN
        self._admit = client.register_script(_ADMIT)

    def wait(self) -> float:
        """Block until a request may go; return the seconds waited."""
        waited = 0.0
        while True:
            delay = float(self._admit(keys=[self.key], args=[time.time(), self.window, self.limit, uuid.uuid4().hex]))
            if delay <= 0:
                return waited
            time.sleep(delay + 0.001)
            waited += delay
