"""visits.days: a plan's collector-days are locked in one statement, every one of them held."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from backend.visits.days import NAMESPACE, day_key, lock_collector_days
from tests.planning.conftest import statements


def test_a_city_plan_locks_its_collector_days_in_one_round_trip(session):
    days = [(collector_id, date(2026, 12, 8)) for collector_id in range(1, 301)]
    with statements(session) as sent:
        lock_collector_days(session, days + days[:10])  # a collector named twice is locked once
    held = set(session.scalars(sa.text(
        "SELECT objid::int FROM pg_locks WHERE locktype = 'advisory' AND classid = :namespace AND objsubid = 2"
        " AND pid = pg_backend_pid() AND granted"), {"namespace": NAMESPACE}))
    assert len(sent) == 1
    assert {day_key(cid, day) for cid, day in days} == held
