"""The per-provider rate limit lives in Redis, so every worker shares it."""
from __future__ import annotations

import uuid

from backend.extensions import redis_conn
from backend.geocoding.ratelimit import RateLimiter


def test_admits_the_rate_then_makes_the_next_request_wait(app):
    with app.app_context():
        key = f"{app.config['QUEUE_PREFIX']}geocode:rate:{uuid.uuid4().hex}"
        first, second = RateLimiter(redis_conn.client, key, 3), RateLimiter(redis_conn.client, key, 3)
        assert [first.wait(), second.wait(), first.wait()] == [0.0, 0.0, 0.0]
        assert second.wait() > 0  # a fourth request in the same second waits, whichever worker sends it

