"""Timed check-ins: the server, not the phone, decides when the next one is due."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.errors import InvalidInput
from backend.geo import make_point, point_geojson, point_latlon
from backend.policy.hours import next_local_time
from backend.policy.service import default_policy
from backend.safety.alerts import resolve_missed_alerts
from backend.safety.models import AlertKind, AlertState, Checkin, CheckinKind, SafetyAlert, SafetyShift
from backend.timeutil import parse_hhmm, utcnow
from backend.visits.hazards import active_hazards
from backend.visits.history import ever_held
from backend.visits.models import Visit


def visit_checkin_minutes_for(session: Session, visit) -> int:
    """Minutes allowed on a visit before the next check-in: shorter at hazard-flagged addresses."""
    policy = default_policy()
    flagged = getattr(visit, "requires_two", False) or bool(
        active_hazards(session, [visit.address_id]).get(visit.address_id))
    return policy["safety.hazard_visit_checkin_minutes" if flagged else "safety.visit_checkin_minutes"]


def next_curfew(moment: datetime, tz_name: str) -> datetime:
    """The first nightly curfew (policy, collector's local time) after moment, in UTC."""
    curfew = parse_hhmm(default_policy()["safety.lodging_curfew"])
    return next_local_time(moment.astimezone(ZoneInfo(tz_name)), curfew).astimezone(moment.tzinfo)


def rest_ends(moment: datetime, tz_name: str) -> datetime:
    """When a rest begun at moment (a lodging check-in) ends: the next policy morning time, local to
    the collector, or after safety.max_rest_hours, whichever comes first."""
    policy = default_policy()
    morning = next_local_time(moment.astimezone(ZoneInfo(tz_name)), parse_hhmm(policy["safety.morning_checkin"]))
    return min(morning.astimezone(moment.tzinfo), moment + timedelta(hours=policy["safety.max_rest_hours"]))


def open_shift(session: Session, collector_id: int) -> SafetyShift | None:
    """The collector's open monitored session, if any."""
    return session.scalar(sa.select(SafetyShift).where(
        SafetyShift.collector_id == collector_id, SafetyShift.ended_at.is_(None)))


def _own_visit(session: Session, collector: User, visit_id: int | None):
    """The visit a check-in names: the collector's own, or one they held before the office moved it
    away (a check-in queued at the door is never refused: its timer is what protects them there)."""
    if visit_id is None:
        return None
    visit = session.get(Visit, visit_id)
    if visit is None or (visit.collector_id != collector.id and not ever_held(session, visit.id, collector.id)):
        raise InvalidInput("visit_id", f"visit {visit_id} is not assigned to you")
    return visit


def _deadline(session: Session, collector: User, kind: CheckinKind, base: datetime, visit,
              requested: datetime | None) -> tuple[datetime | None, str | None]:
    """The next check-in deadline after a check-in of kind made at base, and why."""
    policy = default_policy()
    if kind is CheckinKind.SHIFT_END:
        return None, None
    if requested is not None:
        return requested, "explicit"
    if kind is CheckinKind.ARRIVED:
        minutes = visit_checkin_minutes_for(session, visit) if visit else policy["safety.visit_checkin_minutes"]
        return base + timedelta(minutes=minutes), "visit"
    if kind is CheckinKind.LODGING:
        # The night's rest: monitored again in the morning, never a whole day later.
        return rest_ends(base, collector.timezone), "rest"
    between = base + timedelta(minutes=policy["safety.shift_checkin_minutes"])
    curfew = next_curfew(base, collector.timezone)
    # By the curfew a collector on shift is at their lodging and says so (which starts the rest).
    return (curfew, "curfew") if curfew < between else (between, "shift")


def _validate_requested(requested: datetime | None, recorded_at: datetime, now: datetime) -> None:
    if requested is None:
        return
    if requested <= recorded_at:
        raise InvalidInput("next_checkin_by", "must be after recorded_at")
    hours = default_policy()["safety.max_next_checkin_hours"]
    if requested > now + timedelta(hours=hours):
        raise InvalidInput("next_checkin_by", f"must be within {hours} hours")


def record_checkin(session: Session, *, collector: User, kind: CheckinKind | str, lat: float, lon: float,
                   recorded_at: datetime, visit_id: int | None = None, next_checkin_by: datetime | None = None,
                   now: datetime | None = None) -> Checkin:
    """Store a collector's check-in and move their monitored session's deadline.

    shift_start opens the session and shift_end closes it; a check-in older than the session's
    latest (an offline queue delivering late) is kept as history but moves nothing.
    """
    now = now or utcnow()
    kind = CheckinKind(kind)
    _validate_requested(next_checkin_by, recorded_at, now)
    visit = _own_visit(session, collector, visit_id)
    # Two phones (or retries) starting a shift at once must open one session.
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(
        f"safety-shift:{collector.id}", 0))))
    shift = open_shift(session, collector.id)
    base = min(recorded_at, now)  # a phone clock ahead of ours must not stretch the timer
    if shift is None and kind is CheckinKind.SHIFT_START:
        shift = SafetyShift(collector_id=collector.id, started_at=base)
        session.add(shift)
        session.flush()
    checkin = Checkin(collector_id=collector.id, shift_id=shift.id if shift else None, kind=kind,
                      recorded_at=recorded_at, received_at=now, location=make_point(lat, lon),
                      visit_id=visit.id if visit else None, requested_next_checkin_by=next_checkin_by)
    if shift is not None and (shift.last_checkin_at is None or recorded_at >= shift.last_checkin_at):
        _apply(session, shift, collector, checkin, visit, base)
    checkin.next_checkin_by = shift.next_checkin_by if shift is not None and shift.ended_at is None else None
    session.add(checkin)
    resolve_missed_alerts(session, collector_id=collector.id, heard_at=recorded_at, at=now)
    session.flush()
    return checkin


def _apply(session: Session, shift: SafetyShift, collector: User, checkin: Checkin, visit, base: datetime) -> None:
    """Move the session's state to this (latest) check-in."""
    shift.last_checkin_kind = checkin.kind
    shift.last_checkin_at = checkin.recorded_at
    # Where a collector sleeps is sealed: a lodging check-in leaves no position on the session (so none
    # on the board or in an alert); the lodging's own audited read is the one way to its coordinates.
    shift.last_position = None if checkin.kind is CheckinKind.LODGING else checkin.location
    if checkin.kind is CheckinKind.ARRIVED:
        shift.visit_id = visit.id if visit else None
    elif checkin.kind in (CheckinKind.LEFT, CheckinKind.LODGING, CheckinKind.SHIFT_START, CheckinKind.SHIFT_END):
        shift.visit_id = None
    shift.next_checkin_by, shift.deadline_reason = _deadline(
        session, collector, checkin.kind, base, visit, checkin.requested_next_checkin_by)
    if checkin.kind is CheckinKind.SHIFT_END:
        shift.ended_at = base


def checkin_view(checkin: Checkin) -> dict:
    """The response to a check-in (a duress SOS answers with exactly this shape)."""
    lat, lon = point_latlon(checkin.location)
    return {
        "id": checkin.id,
        "kind": checkin.kind.value,
        "recorded_at": checkin.recorded_at.isoformat(),
        "received_at": checkin.received_at.isoformat(),
        "lat": lat,
        "lon": lon,
        "visit_id": checkin.visit_id,
        "next_checkin_by": checkin.next_checkin_by.isoformat() if checkin.next_checkin_by else None,
        # Every check-in on an open session leaves a deadline; only shift_end or no session leaves none.
        "shift_open": checkin.next_checkin_by is not None,
    }


def collector_status(session: Session, collector: User) -> dict:
    """What the collector's phone shows: session open, next deadline, a reminder when one is missed.

    Never mentions an SOS: a duress alert must leave nothing on the phone's screen.
    """
    shift = open_shift(session, collector.id)
    reminder = session.scalar(sa.select(sa.func.count(SafetyAlert.id)).where(
        SafetyAlert.collector_id == collector.id, SafetyAlert.kind == AlertKind.MISSED_CHECKIN,
        SafetyAlert.state != AlertState.RESOLVED))
    return {
        "shift_open": shift is not None,
        "started_at": shift.started_at.isoformat() if shift else None,
        "last_checkin_at": shift.last_checkin_at.isoformat() if shift and shift.last_checkin_at else None,
        "last_position": point_geojson(*point_latlon(shift.last_position)) if shift and shift.last_position
        is not None else None,
        "next_checkin_by": shift.next_checkin_by.isoformat() if shift and shift.next_checkin_by else None,
        "missed_checkin_reminder": bool(reminder),
    }
