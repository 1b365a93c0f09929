"""Background work for field safety: the periodic check-in sweep (see worker/sweeps.py)."""
from __future__ import annotations

from datetime import datetime

from backend.extensions import db
from backend.safety.sweep import run_sweep
from backend.timeutil import utcnow


def sweep_checkins(now: datetime | None = None) -> dict:
    """Raise missed check-ins and escalate unacknowledged alerts (every safety.sweep_interval_s)."""
    try:
        result = run_sweep(db.session, now=now or utcnow())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
