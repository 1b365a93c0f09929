"""The watchdog over the check-in sweep: if the worker stops, the safety net must not fail silently.

Two sides watch it. The API (health endpoint, alert list, live board) reports a stale sweep and
raises a supervisor `system` alert while it is down; the sweep itself, on its first run after a
gap, raises the same alert (one per outage: both use the last run time as the dedupe key) so an
outage nobody looked at during it still reaches the supervisors.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.policy.service import default_policy
from backend.safety.alerts import raise_system_alert
from backend.safety.models import SafetyShift, SweepRun
from backend.timeutil import utcnow

SWEEP_NAME = "checkins"


def watchdog_window() -> timedelta:
    """How long without a sweep before the watchdog barks (policy: intervals x missed sweeps)."""
    policy = default_policy()
    return timedelta(seconds=policy["safety.sweep_interval_s"] * policy["safety.watchdog_missed_sweeps"])


def sweep_status(session: Session, *, now: datetime | None = None) -> dict:
    """Whether the sweep ran recently; never having run only matters once someone is on shift."""
    now = now or utcnow()
    last = session.scalar(sa.select(SweepRun.last_run_at).where(SweepRun.name == SWEEP_NAME))
    window = watchdog_window()
    if last is None:
        on_shift = session.scalar(sa.select(sa.exists().where(SafetyShift.ended_at.is_(None))))
        return {"ok": not on_shift, "last_run_at": None, "age_s": None, "max_age_s": window.total_seconds(),
                "detail": "the check-in sweep has never run" + ("; collectors are on shift" if on_shift else "")}
    age = now - last
    ok = age <= window
    return {"ok": ok, "last_run_at": last.isoformat(), "age_s": round(age.total_seconds(), 1),
            "max_age_s": window.total_seconds(),
            "detail": "" if ok else "the check-in sweep has stopped: missed check-ins are not being detected"}


def raise_gap_alert(session: Session, *, last_run_at: datetime | None, now: datetime) -> int | None:
    """Raise the supervisors' system alert for this outage (once per outage)."""
    since = last_run_at.isoformat() if last_run_at else "never"
    note = (f"check-in sweep not running (last run: {since}, noticed {now.isoformat()}); "
            "missed check-ins were not detected meanwhile: check the worker and the board")
    return raise_system_alert(session, dedupe_key=f"watchdog:{since}", note=note, now=now)


def check_watchdog(session: Session, *, now: datetime | None = None) -> dict:
    """Report the sweep's health and raise the system alert when it is down; the caller commits."""
    now = now or utcnow()
    status = sweep_status(session, now=now)
    if not status["ok"]:
        last = datetime.fromisoformat(status["last_run_at"]) if status["last_run_at"] else None
        status["alert_id"] = raise_gap_alert(session, last_run_at=last, now=now)
    return status


def health_check() -> dict:
    """Health endpoint check: not ok while the sweep is down (and the supervisors are alerted).

    Part of the health route: it commits the alert as the route would (a failing commit is the check's
    error, reported by checks.run_all, not the route's 500).
    """
    status = check_watchdog(db.session)
    if status.get("alert_id"):
        db.session.commit()
    return status
