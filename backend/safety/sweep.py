"""The check-in sweep: set-based SQL that raises missed check-ins and escalates unacknowledged alerts.

Each statement works on every collector at once (no Python loop over rows), and each is
idempotent: a deadline raises one alert however often the sweep runs, and a level is reached
once per interval.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from backend.policy.service import default_policy
from backend.safety.alerts import TOP_LEVEL
from backend.safety.models import SweepRun
from backend.safety.notices import notify_alerts
from backend.safety.watchdog import SWEEP_NAME, raise_gap_alert, watchdog_window

# One alert per (shift, deadline): the key is looked up through its unique index.
MISSED_KEY = "'missed:' || s.id || ':' || to_char(s.next_checkin_by AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS.US')"

RAISE_MISSED = sa.text(f"""
WITH due AS (
    SELECT s.id AS shift_id, s.collector_id, s.next_checkin_by, s.visit_id, s.last_position, s.last_checkin_at,
           s.last_checkin_kind = 'lodging' AS at_declared_lodging, {MISSED_KEY} AS dedupe_key
    FROM safety_shifts s
    WHERE s.ended_at IS NULL AND s.next_checkin_by < :cutoff
      AND NOT EXISTS (SELECT 1 FROM safety_alerts a WHERE a.dedupe_key = {MISSED_KEY})
    -- A check-in committing meanwhile moves the deadline: wait for it and re-check, never alert on it.
    FOR UPDATE OF s
), raised AS (
    INSERT INTO safety_alerts (kind, collector_id, shift_id, state, level, duress, raised_at, notified_at,
                               deadline, visit_id, position, position_at, at_declared_lodging, note, dedupe_key)
    SELECT 'missed_checkin', d.collector_id, d.shift_id, 'open', 1, false, :now, :now,
           d.next_checkin_by, d.visit_id, d.last_position, d.last_checkin_at,
           coalesce(d.at_declared_lodging, false), '', d.dedupe_key
    FROM due d
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, level
)
INSERT INTO safety_alert_events (alert_id, action, level, actor_id, at, note)
SELECT id, 'raised', level, NULL, :now, 'missed check-in' FROM raised
RETURNING alert_id
""")

# Level L waits intervals[L] minutes (1-based, the last value repeating) before the next level;
# at the top level the same wait re-notifies the supervisors until someone acknowledges.
ESCALATE = sa.text("""
WITH due AS (
    SELECT a.id, a.level
    FROM safety_alerts a
    WHERE a.state = 'open'
      AND a.notified_at + make_interval(mins => (CAST(:intervals AS integer[]))[LEAST(a.level, cardinality(CAST(:intervals AS integer[])))]) <= :now
    FOR UPDATE
), stepped AS (
    UPDATE safety_alerts a SET level = LEAST(due.level + 1, CAST(:top AS integer)), notified_at = :now
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.level, due.level AS old_level
)
INSERT INTO safety_alert_events (alert_id, action, level, actor_id, at, note)
SELECT id, CASE WHEN level > old_level THEN 'escalated' ELSE 'renotified' END, level, NULL, :now, ''
FROM stepped
RETURNING alert_id, action
""").bindparams(sa.bindparam("intervals", type_=ARRAY(sa.Integer)))


def run_sweep(session: Session, *, now: datetime) -> dict:
    """Raise, escalate and record this run; the caller commits. Skips if another sweep holds the lock."""
    started = time.perf_counter()
    got_lock = session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(
        sa.func.hashtextextended("safety-sweep", 0))))
    if not got_lock:
        return {"skipped": True}
    policy = default_policy()
    cutoff = now - timedelta(minutes=policy["safety.missed_checkin_grace_minutes"])
    raised = session.execute(RAISE_MISSED, {"cutoff": cutoff, "now": now}).all()
    stepped = session.execute(ESCALATE, {
        "intervals": list(policy["safety.escalation_minutes"]), "now": now, "top": TOP_LEVEL}).all()
    steps = [row.action for row in stepped]
    # The messages are written with the alerts: committed together, delivered after (backend/notify).
    notified = notify_alerts(session, [row[0] for row in raised] + [row.alert_id for row in stepped], now=now)
    gap_alert = _record_run(session, now=now, duration_ms=(time.perf_counter() - started) * 1000)
    return {"raised": len(raised), "escalated": steps.count("escalated"), "renotified": steps.count("renotified"),
            "gap_alert_id": gap_alert, "messages": notified}


def _record_run(session: Session, *, now: datetime, duration_ms: float) -> int | None:
    """Store this run's time; if the previous one is older than the watchdog window, say so once."""
    previous = session.scalar(sa.select(SweepRun.last_run_at).where(SweepRun.name == SWEEP_NAME).with_for_update())
    gap_alert = None
    if previous is not None and now - previous > watchdog_window():
        gap_alert = raise_gap_alert(session, last_run_at=previous, now=now)
    session.execute(insert(SweepRun).values(name=SWEEP_NAME, last_run_at=now, runs=1, last_duration_ms=duration_ms)
                    .on_conflict_do_update(index_elements=["name"], set_={
                        "last_run_at": sa.func.greatest(SweepRun.last_run_at, now), "runs": SweepRun.runs + 1,
                        "last_duration_ms": duration_ms}))
    return gap_alert
