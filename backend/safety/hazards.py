"""Safety's answer to a hazardous report from the door: the collector is where the danger is.

Receiver of visits' visit_outcome_recorded (connected in backend.safety.register): safety stands above
visits, so visits raises the signal and never imports this.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.policy.service import default_policy
from backend.safety.checkins import open_shift
from backend.timeutil import utcnow
from backend.visits.hazards import hazards_from_outcome


def react_to_hazardous_outcome(visit, *, session: Session, outcome=None, actor_id: int | None = None, **_) -> None:
    """A report with a hazard (a hostile outcome always has one): the collector's monitored session
    takes the report's position as their last, and their running timer shrinks to the hazard timer."""
    if outcome is None or not hazards_from_outcome(outcome):
        return
    # Read defensively, as visits.hazards does: the signal's outcome is the stored row in production.
    collector_id = getattr(outcome, "collector_id", None) or actor_id
    if collector_id is None:
        return
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(
        f"safety-shift:{collector_id}", 0))))
    shift = open_shift(session, collector_id)
    if shift is None:
        return  # off shift: nothing is monitored, and the board shows no one off shift
    now = utcnow()
    recorded_at = getattr(outcome, "recorded_at", None) or now
    if shift.last_checkin_at is not None and recorded_at < shift.last_checkin_at:
        return  # delivered late: the collector has checked in since, and that check-in set the timer
    location = getattr(outcome, "location", None)
    if location is not None:
        shift.last_position = location
    # Past already if the report arrives late with no check-in since: the sweep then raises it at once.
    deadline = min(recorded_at, now) + timedelta(minutes=default_policy()["safety.hazard_visit_checkin_minutes"])
    if shift.next_checkin_by is None or deadline < shift.next_checkin_by:
        shift.next_checkin_by, shift.deadline_reason = deadline, "hazard"
    session.flush()
