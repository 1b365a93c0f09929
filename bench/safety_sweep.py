"""The check-in sweep over 10,000 collectors on shift, 1,000 of them overdue.

Builds a throwaway database with the migrations, bulk-inserts the collectors, their open shifts
and a history of 100,000 old alerts, then times the sweep (the function the worker runs every
safety.sweep_interval_s) in three situations and prints time per sweep and detection latency.
Goal: a sweep under 1 s; detection within 60 s of deadline + grace.

Usage: python bench/safety_sweep.py [ROUNDS]   (detection rounds, default 5)
"""
from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from backend import create_app  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.policy.service import default_policy  # noqa: E402
from backend.safety.jobs import sweep_checkins  # noqa: E402
from backend.timeutil import utcnow  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
N_COLLECTORS, N_OVERDUE, N_HISTORY = 10_000, 1_000, 100_000

SEED = [
    """INSERT INTO users (username, password_hash, role, name, timezone, home, shift_start, shift_end,
                          max_visits_per_day, skills, team_size, active, token_version, created_at)
       SELECT 'bench' || g, 'x', 'collector', 'Collector ' || g, 'Asia/Shanghai',
              ST_SetSRID(ST_MakePoint(103.9 + random() * 0.3, 30.5 + random() * 0.3), 4326)::geography,
              '08:30', '18:00', 12, '{}', 1, true, 0, now()
       FROM generate_series(1, :n) g""",
    # Everyone on shift since three hours ago; deadlines from 1 minute to 2 hours ahead.
    """INSERT INTO safety_shifts (collector_id, started_at, last_checkin_kind, last_checkin_at, last_position,
                                  next_checkin_by, deadline_reason)
       SELECT id, now() - interval '3 hours', 'ok', now() - interval '20 minutes', home,
              now() + interval '1 minute' + random() * interval '2 hours', 'shift'
       FROM users WHERE username LIKE 'bench%'""",
    # Weeks of resolved history, so the sweep's lookups run against a table that is not empty.
    """INSERT INTO safety_alerts (kind, collector_id, state, level, duress, raised_at, notified_at, deadline,
                                  note, dedupe_key, resolved_at, resolution)
       SELECT 'missed_checkin', u.id, 'resolved', 1, false, t, t, t - interval '5 minutes', '',
              'history:' || g, t + interval '3 minutes', 'collector checked in'
       FROM generate_series(1, :history) g
       JOIN users u ON u.username = 'bench' || (1 + g % :n)
       CROSS JOIN LATERAL (SELECT now() - (g || ' minutes')::interval AS t) moment""",
]

# The overdue ones: deadline + grace fell uniformly within the last sweep interval, as it would
# between two sweeps in production.
MAKE_OVERDUE = """
UPDATE safety_shifts SET next_checkin_by = :now - make_interval(mins => :grace) - random() * make_interval(secs => :interval)
WHERE id IN (SELECT id FROM safety_shifts WHERE ended_at IS NULL ORDER BY id LIMIT :k)
"""
CLEAR_OPEN = "DELETE FROM safety_alerts WHERE state = 'open'"


def timed_sweep(now=None) -> tuple[float, dict, object]:
    """Run one sweep; return (seconds, result, wall-clock moment it committed)."""
    started = time.perf_counter()
    result = sweep_checkins(now=now)
    return time.perf_counter() - started, result, utcnow()


def spread(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    return (f"min {min(values) * scale:8.1f} {unit}   median {statistics.median(values) * scale:8.1f} {unit}   "
            f"max {max(values) * scale:8.1f} {unit}")


def detection_rounds(rounds: int, grace_min: int, interval_s: int) -> tuple[list[float], list[float]]:
    """Each round: 1,000 deadlines pass within the last interval, then the sweep runs."""
    times, latencies = [], []
    for _ in range(rounds):
        db.session.execute(sa.text(CLEAR_OPEN))
        now = utcnow()
        db.session.execute(sa.text(MAKE_OVERDUE), {"now": now, "grace": grace_min, "interval": interval_s,
                                                    "k": N_OVERDUE})
        db.session.commit()
        seconds, result, done_at = timed_sweep()
        assert result["raised"] == N_OVERDUE, result
        times.append(seconds)
        deadlines = db.session.scalars(sa.text(
            "SELECT deadline FROM safety_alerts WHERE state = 'open' AND kind = 'missed_checkin'")).all()
        grace = timedelta(minutes=grace_min)
        latencies += [(done_at - (deadline + grace)).total_seconds() for deadline in deadlines]
    return times, latencies


def main(rounds: int) -> None:
    name = f"fieldtrace_bench_safety_{os.getpid()}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                          "SECRET_KEY": secrets.token_urlsafe(48)})
        with app.app_context():
            run(rounds)
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(rounds: int) -> None:
    policy = default_policy()
    grace, interval = policy["safety.missed_checkin_grace_minutes"], policy["safety.sweep_interval_s"]
    upgrade(revision="heads")
    started = time.perf_counter()
    for statement in SEED:
        db.session.execute(sa.text(statement), {"n": N_COLLECTORS, "history": N_HISTORY})
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    print(f"seeded {N_COLLECTORS:,} collectors on shift and {N_HISTORY:,} old alerts "
          f"in {time.perf_counter() - started:.1f} s")
    print(f"policy: sweep every {interval} s, grace {grace} min, escalation {policy['safety.escalation_minutes']} min")

    times, latencies = detection_rounds(rounds, grace, interval)
    print(f"\n1. detection sweep ({rounds} rounds, each raising {N_OVERDUE:,} missed check-ins among "
          f"{N_COLLECTORS:,} on shift)")
    print(f"   time per sweep:    {spread(times)}")
    print(f"   detection latency: {spread(latencies, 's', 1.0)}   (n={len(latencies):,})")

    steady = [timed_sweep()[0] for _ in range(10)]
    print(f"\n2. steady sweep (10 runs: {N_OVERDUE:,} open alerts waiting, nothing new to raise or escalate)")
    print(f"   time per sweep:    {spread(steady)}")

    escalations = []
    for minutes in (grace + policy["safety.escalation_minutes"][0],
                    grace + sum(policy["safety.escalation_minutes"][:2]) + 1):
        seconds, result, _ = timed_sweep(now=utcnow() + timedelta(minutes=minutes))
        escalations.append((minutes, seconds, result))
    print(f"\n3. escalation sweeps (clock moved on; the {N_OVERDUE:,} unacknowledged alerts step up a level, and")
    print("   deadlines that passed meanwhile raise new alerts, which escalate in turn)")
    for minutes, seconds, result in escalations:
        print(f"   now + {minutes:2d} min: {seconds * 1000:8.1f} ms   escalated {result['escalated']:,}, "
              f"raised {result['raised']:,}")

    worst = interval + max(times)
    print("\nDetection latency = when the sweep committed - (deadline + grace), for every overdue collector.")
    print(f"Each round puts the {N_OVERDUE:,} deadline+grace moments uniformly within the {interval} s before the")
    print("sweep starts, as happens between two scheduled sweeps, so the latency is the wait for the next")
    print(f"sweep plus the sweep's own time: at worst one interval + one sweep = {interval} s + "
          f"{max(times):.2f} s = {worst:.1f} s (goal: within 60 s).")
    all_times = times + steady + [s for _, s, _ in escalations]
    verdict = "MET" if max(all_times) < 1.0 else "MISSED"
    print(f"Slowest sweep of all: {max(all_times) * 1000:.1f} ms -> goal of < 1 s per sweep {verdict}.")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
