"""Sealed lodging and meal places: where a collector sleeps and eats must never reach a debtor.

Readable by the collector, and by a safety dispatcher (dispatcher, supervisor) for one collector at
a time only while an alert for that collector is open or with a stated reason; every such read is
audited with why. No bulk listing. Nothing else links to a lodging, so no case, visit, route, export
or alert payload can carry one (a lodging check-in shows as "at declared lodging", no coordinates).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.cases.models import CaseAddress
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.geo import make_point, point_latlon
from backend.pagination import paginate
from backend.policy.service import default_policy
from backend.safety.models import AlertState, Checkin, CheckinKind, Lodging, PlaceKind, SafetyAlert
from backend.timeutil import utcnow
from backend.visits.models import OPEN_STATUSES, HazardFlag, Visit, VisitOutcome

SAFETY_DISPATCHERS = (Role.DISPATCHER, Role.SUPERVISOR)


def _local_date(column, tz_name: str):
    return sa.cast(sa.func.timezone(tz_name, column), sa.Date)


def _first_last(kind: PlaceKind, check_in: datetime, check_out: datetime | None, tz_name: str) -> tuple[date, date]:
    """The local days a place is used on: the nights of a stay, or the day(s) of a meal."""
    zone = ZoneInfo(tz_name)
    first = check_in.astimezone(zone).date()
    if kind is PlaceKind.LODGING:
        return first, max(check_out.astimezone(zone).date() - timedelta(days=1), first)
    return first, (check_out or check_in).astimezone(zone).date()


def register_lodging(session: Session, *, collector: User, kind: PlaceKind | str = PlaceKind.LODGING, name: str,
                     address: str = "", lat: float, lon: float, check_in: datetime,
                     check_out: datetime | None = None) -> tuple[Lodging, list[dict]]:
    """Store a lodging or meal place; return it with rotation and proximity warnings."""
    kind = PlaceKind(kind)
    if kind is PlaceKind.LODGING and check_out is None:
        raise InvalidInput("check_out", "required for a lodging")
    if check_out is not None and check_out <= check_in:
        raise InvalidInput("check_out", "must be after check_in")
    lodging = Lodging(collector_id=collector.id, kind=kind, name=name, address=address or "",
                      location=make_point(lat, lon), check_in=check_in, check_out=check_out)
    session.add(lodging)
    session.flush()
    first, last = _first_last(kind, check_in, check_out, collector.timezone)
    warnings = _near_visit_warnings(session, collector, lodging, first, last)
    warnings += _recent_visit_warnings(session, collector, lodging)
    warnings += _hazard_warnings(session, lodging)
    warnings += _reuse_warnings(session, collector, lodging, first, last)
    return lodging, warnings


def _recent_visit_warnings(session: Session, collector: User, lodging: Lodging) -> list[dict]:
    """Warn when the place lies near an address the collector reported from in the last
    safety.lodging_recent_visit_days days: a debtor met that evening may see them come home."""
    policy = default_policy()
    radius = policy["safety.lodging_near_visit_m"]
    since = lodging.check_in - timedelta(days=policy["safety.lodging_recent_visit_days"])
    distance = sa.func.ST_Distance(CaseAddress.location, Lodging.location)
    rows = session.execute(
        sa.select(Visit.id, distance)
        .join(VisitOutcome, VisitOutcome.visit_id == Visit.id)
        .join(CaseAddress, CaseAddress.id == Visit.address_id)
        .join(Lodging, Lodging.id == lodging.id)
        .where(VisitOutcome.collector_id == collector.id, VisitOutcome.recorded_at >= since,
               VisitOutcome.recorded_at <= sa.func.greatest(lodging.check_in, utcnow()),
               sa.func.ST_DWithin(CaseAddress.location, Lodging.location, radius))
        .order_by(distance)).all()
    if not rows:
        return []
    days = policy["safety.lodging_recent_visit_days"]
    return [{"code": "near_recent_visit",
             "message": f"you visited {len({r[0] for r in rows})} address(es) within {radius} m of this place in "
                        f"the last {days} days; choose one farther away",
             "visit_ids": sorted({visit_id for visit_id, _ in rows}), "distance_m": round(rows[0][1])}]


def _hazard_warnings(session: Session, lodging: Lodging) -> list[dict]:
    """Warn when a hazard-flagged address (anyone's report: hostile, threat, dog...) lies within the distance."""
    radius = default_policy()["safety.lodging_near_visit_m"]
    distance = sa.func.ST_Distance(CaseAddress.location, Lodging.location)
    rows = session.execute(
        sa.select(HazardFlag.kind, distance)
        .join(CaseAddress, CaseAddress.id == HazardFlag.address_id)
        .join(Lodging, Lodging.id == lodging.id)
        .where(HazardFlag.expires_at > utcnow(), sa.func.ST_DWithin(CaseAddress.location, Lodging.location, radius))
        .order_by(distance)).all()
    if not rows:
        return []
    kinds = sorted({kind.value for kind, _ in rows})
    return [{"code": "near_hazard",
             "message": f"{len(rows)} hazard-flagged address(es) ({', '.join(kinds)}) lie within {radius} m of "
                        "this place; choose one farther away",
             "kinds": kinds, "distance_m": round(rows[0][1])}]


def _near_visit_warnings(session: Session, collector: User, lodging: Lodging, first: date, last: date) -> list[dict]:
    """Warn when the place lies near an address on the collector's visits for the coming days."""
    policy = default_policy()
    radius = policy["safety.lodging_near_visit_m"]
    until = max(last + timedelta(days=1), first + timedelta(days=policy["safety.lodging_lookahead_days"]))
    distance = sa.func.ST_Distance(CaseAddress.location, Lodging.location)
    rows = session.execute(
        sa.select(Visit.id, distance)
        .join(CaseAddress, CaseAddress.id == Visit.address_id)
        .join(Lodging, Lodging.id == lodging.id)
        .where(Visit.collector_id == collector.id, Visit.status.in_(OPEN_STATUSES),
               Visit.scheduled_date.between(first, until),
               sa.func.ST_DWithin(CaseAddress.location, Lodging.location, radius))
        .order_by(distance)).all()
    if not rows:
        return []
    place = "lodging" if lodging.kind is PlaceKind.LODGING else "meal place"
    return [{"code": "near_visit_address",
             "message": f"this {place} is within {radius} m of {len(rows)} address(es) you visit between "
                        f"{first.isoformat()} and {until.isoformat()}; choose one farther away",
             "visit_ids": [visit_id for visit_id, _ in rows], "distance_m": round(rows[0][1])}]


def _reuse_warnings(session: Session, collector: User, lodging: Lodging, first: date, last: date) -> list[dict]:
    """Warn when the same place (or one within the reuse radius) is used on consecutive days."""
    radius = default_policy()["safety.lodging_reuse_m"]
    place = "lodging" if lodging.kind is PlaceKind.LODGING else "meal place"
    warnings = []
    if (last - first).days >= 1:
        warnings.append({"code": "reused", "nights": (last - first).days + 1,
                         "message": f"one {place} for {(last - first).days + 1} consecutive days; change it daily"})
    other = aliased(Lodging)
    tz = collector.timezone
    other_first = _local_date(other.check_in, tz)
    if lodging.kind is PlaceKind.LODGING:
        other_last = sa.func.greatest(_local_date(sa.func.coalesce(other.check_out, other.check_in), tz)
                                      - sa.literal(1), other_first)
    else:
        other_last = _local_date(sa.func.coalesce(other.check_out, other.check_in), tz)
    rows = session.execute(
        sa.select(other.id, other_first, other_last)
        .join(Lodging, Lodging.id == lodging.id)
        .where(other.collector_id == collector.id, other.kind == lodging.kind, other.id != lodging.id,
               sa.func.ST_DWithin(other.location, Lodging.location, radius),
               other_first <= last + timedelta(days=1), other_last >= first - timedelta(days=1))
        .order_by(other_first)).all()
    if rows:
        warnings.append({"code": "reused", "lodging_ids": [row[0] for row in rows],
                         "message": f"you used this {place} (or one within {radius} m) on "
                                    f"{', '.join(sorted({row[1].isoformat() for row in rows}))}; "
                                    "change it on consecutive days"})
    return warnings


def _audit_read(session: Session, viewer: User, lodgings: list[Lodging], grounds: dict | None = None) -> None:
    for lodging in lodgings:
        if lodging.collector_id != viewer.id:
            record_audit(session, actor_id=viewer.id, action="lodging.read", subject_type="lodging",
                         subject_id=lodging.id, collector_id=lodging.collector_id, **(grounds or {}))


def open_alert_for(session: Session, collector_id: int) -> int | None:
    """The id of an alert about this collector still open (or acknowledged, not resolved), or None."""
    return session.scalar(
        sa.select(SafetyAlert.id).where(SafetyAlert.collector_id == collector_id,
                                        SafetyAlert.state.in_([AlertState.OPEN, AlertState.ACKNOWLEDGED]))
        .order_by(SafetyAlert.raised_at.desc()).limit(1))


def read_grounds(session: Session, viewer: User, collector_id: int, reason: str | None) -> dict:
    """Why a safety dispatcher may read this collector's places now (recorded with the read): an alert
    for them is open, or the dispatcher states a reason. 403 otherwise."""
    alert_id = open_alert_for(session, collector_id)
    reason = (reason or "").strip()
    if alert_id is None and not reason:
        raise Forbidden("a collector's lodgings are readable only while an alert for them is open, "
                        "or with a stated reason (?reason=)")
    return {"alert_id": alert_id, "reason": reason or None}


def list_lodgings(session: Session, *, viewer: User, collector_id: int | None = None, kind: str | None = None,
                  since: datetime | None = None, page: int = 1, page_size: int = 100,
                  reason: str | None = None) -> tuple[list[Lodging], int]:
    """One page of a collector's own places and how many match; a safety dispatcher reads one
    collector's (collector_id required: no bulk listing) only on grounds (read_grounds), audited."""
    grounds = None
    if viewer.role not in SAFETY_DISPATCHERS:
        if collector_id not in (None, viewer.id):
            raise Forbidden("you may only see your own lodgings")
        collector_id = viewer.id
    elif collector_id is None:
        raise InvalidInput("collector_id", "required: lodgings are read one collector at a time")
    else:
        grounds = read_grounds(session, viewer, collector_id, reason)
    query = sa.select(Lodging)
    if collector_id is not None:
        query = query.where(Lodging.collector_id == collector_id)
    if kind:
        query = query.where(Lodging.kind == PlaceKind(kind))
    if since is not None:
        query = query.where(sa.func.coalesce(Lodging.check_out, Lodging.check_in) >= since)
    rows, total = paginate(session, query.order_by(Lodging.check_in.desc(), Lodging.id.desc()), page, page_size)
    _audit_read(session, viewer, rows, grounds)
    return rows, total


def get_lodging(session: Session, *, viewer: User, lodging_id: int, reason: str | None = None) -> Lodging:
    """One place: its collector's, or a safety dispatcher's on grounds (read_grounds, audited); 404 for
    anyone else."""
    lodging = session.get(Lodging, lodging_id)
    if lodging is None or (lodging.collector_id != viewer.id and viewer.role not in SAFETY_DISPATCHERS):
        raise NotFound("lodging", lodging_id)
    grounds = None
    if lodging.collector_id != viewer.id:
        grounds = read_grounds(session, viewer, lodging.collector_id, reason)
    _audit_read(session, viewer, [lodging], grounds)
    return lodging


def lodging_start_for(session: Session, collector_id: int, day: date, *,
                      actor_id: int | None = None) -> tuple[float, float] | None:
    """Where the collector wakes up on day (the lodging declared for the night before), or None.

    For the route planner only: the planner starts the route there and must never show it.
    """
    collector = session.get(User, collector_id)
    if collector is None:
        return None
    tz = collector.timezone
    night = day - timedelta(days=1)
    first = _local_date(Lodging.check_in, tz)
    last = sa.func.greatest(_local_date(sa.func.coalesce(Lodging.check_out, Lodging.check_in), tz)
                            - sa.literal(1), first)
    lodging = session.scalar(
        sa.select(Lodging).where(Lodging.collector_id == collector_id, Lodging.kind == PlaceKind.LODGING,
                                 first <= night, last >= night)
        .order_by(Lodging.check_in.desc(), Lodging.id.desc()).limit(1))
    if lodging is None:
        return None
    if actor_id is not None and actor_id != collector_id:
        record_audit(session, actor_id=actor_id, action="lodging.route_start", subject_type="lodging",
                     subject_id=lodging.id, collector_id=collector_id, day=day.isoformat())
    return point_latlon(lodging.location)


def lodging_view(lodging: Lodging) -> dict:
    """A lodging as its collector (or a safety dispatcher) sees it."""
    lat, lon = point_latlon(lodging.location)
    return {"id": lodging.id, "collector_id": lodging.collector_id, "kind": lodging.kind.value,
            "name": lodging.name, "address": lodging.address, "lat": lat, "lon": lon,
            "check_in": lodging.check_in.isoformat(),
            "check_out": lodging.check_out.isoformat() if lodging.check_out else None,
            "created_at": lodging.created_at.isoformat() if lodging.created_at else None}


def near_private_place(session: Session, *, collector_id: int, location, radius_m: float) -> bool:
    """Whether a position lies within radius_m of the collector's home, of any place they have declared
    (lodging or meal, past or present) or of where they checked in for the night (a lodging check-in need
    not be at a declared lodging): such a position must never be shown to anyone else."""
    home = sa.select(User.id).where(User.id == collector_id, User.home.is_not(None),
                                    sa.func.ST_DWithin(User.home, location, radius_m))
    declared = sa.select(Lodging.id).where(Lodging.collector_id == collector_id,
                                           sa.func.ST_DWithin(Lodging.location, location, radius_m))
    night = sa.select(Checkin.id).where(Checkin.collector_id == collector_id, Checkin.kind == CheckinKind.LODGING,
                                        sa.func.ST_DWithin(Checkin.location, location, radius_m))
    return bool(session.scalar(sa.select(sa.exists(home) | sa.exists(declared) | sa.exists(night))))

