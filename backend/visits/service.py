"""Visit rules: who sees which visit, filters, approval, assignment and cancellation."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, contains_eager

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.cases.addresses import not_located_clause
from backend.cases.models import CaseAddress
from backend.errors import DomainError, Forbidden, InvalidInput, NotFound
from backend.geo import point_latlon
from backend.signals import visit_closed, visit_released
from backend.timeutil import utcnow
from backend.visits.days import lock_collector_days
from backend.visits.models import (
    OPEN_STATUSES,
    CollectorAbsence,
    HazardFlag,
    Visit,
    VisitOutcome,
    VisitPin,
    VisitStatus,
)
from backend.visits.states import FIXED, check_transition, move

# Statuses that take one of a collector's visits for the day.
COUNTED = (VisitStatus.ASSIGNED, VisitStatus.IN_PROGRESS, VisitStatus.DONE, VisitStatus.FAILED)


def _lat_lon_columns():
    geometry = sa.func.geometry(CaseAddress.location)
    return sa.func.ST_Y(geometry).label("lat"), sa.func.ST_X(geometry).label("lon")


def get_visit(session: Session, visit_id: int, *, viewer: User | None = None, lock: bool = False,
              field: str | None = None) -> Visit:
    """Return the visit; a collector only ever finds their own (others are 404)."""
    visit = session.get(Visit, visit_id, with_for_update=lock or None, populate_existing=lock)
    if visit is None or (viewer is not None and viewer.role is Role.COLLECTOR and visit.collector_id != viewer.id):
        raise NotFound("visit", visit_id, field=field)
    return visit


def scope_for(viewer: User, collector_id: int | None) -> int | None:
    """Return the collector filter a viewer may use: collectors see only themselves."""
    if viewer.role is not Role.COLLECTOR:
        return collector_id
    if collector_id is not None and collector_id != viewer.id:
        raise Forbidden("collectors see only their own visits")
    return viewer.id


def filtered_visits(*, status=None, kind=None, collector_id=None, date=None, bbox=None, not_located=None,
                    case_id=None, overdue=None, pinned=None, open_only=None, now=None) -> sa.Select:
    """Select visits joined to their address, filtered; the bbox test runs on the GiST index."""
    query = sa.select(Visit).join(CaseAddress, CaseAddress.id == Visit.address_id)
    if open_only is not None:  # closed visits are never deleted: the map must not page through them
        is_open = Visit.status.in_(OPEN_STATUSES)
        query = query.where(is_open if open_only else sa.not_(is_open))
    if pinned is not None:
        has_pin = sa.exists().where(VisitPin.visit_id == Visit.id).correlate(Visit)  # not the joined pin
        query = query.where(has_pin if pinned else ~has_pin)
    if not_located is not None:
        query = query.where(not_located_clause() if not_located else ~not_located_clause())
    if case_id is not None:
        query = query.where(Visit.case_id == case_id)
    if overdue is not None:
        late = sa.and_(Visit.status.in_(OPEN_STATUSES), Visit.due_by < (now or utcnow()))
        query = query.where(late if overdue else sa.not_(late))
    if status is not None:
        query = query.where(Visit.status == status)
    if kind is not None:
        query = query.where(Visit.kind == kind)
    if collector_id is not None:
        query = query.where(Visit.collector_id == collector_id)
    if date is not None:
        query = query.where(Visit.scheduled_date == date)
    if bbox is not None:
        envelope = sa.cast(sa.func.ST_MakeEnvelope(*bbox, 4326), Geography)
        query = query.where(CaseAddress.location.op("&&")(envelope))
    return query


def list_visits(session: Session, *, page: int = 1, page_size: int = 100, **filters) -> tuple[list[dict], int]:
    """Return one page of visit records (most urgent first) and the total matching."""
    query = filtered_visits(**filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.with_only_columns(Visit.id).subquery()))
    rows = session.execute(query.outerjoin(VisitPin, VisitPin.visit_id == Visit.id)
                           .options(contains_eager(Visit.pin)).add_columns(CaseAddress, *_lat_lon_columns())
                           .order_by(Visit.due_by, Visit.id).limit(page_size).offset((page - 1) * page_size))
    return [visit_record(visit, address, lat, lon) for visit, address, lat, lon in rows], total


def pin_view(pin: VisitPin | None) -> dict | None:
    """A visit's pin as the API shows it (POST /visits/{id}/pin answers the same), or None."""
    if pin is None:
        return None
    return {"visit_id": pin.visit_id, "collector_id": pin.collector_id, "position": pin.position,
            "pinned_by_id": pin.pinned_by_id, "created_at": pin.created_at}


def _iso_utc(column):
    """SQL: a timestamp as Python's isoformat() writes it in UTC, as the schemas dump it (json_build_object
    drops trailing zeros of the fraction: .5767 where the same pin's POST answer says .576700)."""
    utc = sa.func.timezone("UTC", column)
    return sa.case((sa.func.date_trunc("second", utc) == utc,
                    sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')),
                   else_=sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))


def pin_json():
    """SQL: the pin of the VisitPin row joined (outer) to a visit, as pin_view's JSON object, or null."""
    return sa.case((VisitPin.visit_id.is_(None), sa.null()), else_=sa.func.json_build_object(
        "visit_id", VisitPin.visit_id, "collector_id", VisitPin.collector_id, "position", VisitPin.position,
        "pinned_by_id", VisitPin.pinned_by_id, "created_at", _iso_utc(VisitPin.created_at)))


def visit_record(visit: Visit, address: CaseAddress | None = None, lat: float | None = None,
                 lon: float | None = None) -> dict:
    """The visit as the API shows it."""
    if address is None:
        address = visit.address
        lat, lon = point_latlon(address.location) or (None, None)
    record = {column: getattr(visit, column) for column in (
        "id", "case_id", "address_id", "reason", "priority", "window_start", "window_end", "due_by", "source",
        "outsourced", "requires_two", "required_skills", "collector_id", "scheduled_date", "approved_at",
        "cancel_reason", "last_outcome", "started_at", "finished_at", "created_at", "updated_at",
        "address_moved_at", "moved_from_address_id")}
    record.update(kind=visit.kind.value, status=visit.status.value, pin=pin_view(visit.pin),
                  address={"text": address.text, "lat": lat, "lon": lon, "precision": address.precision,
                           "geocode_status": address.geocode_status})
    return record


def visits_geojson(session: Session, *, page: int = 1, page_size: int = 100, **filters) -> dict:
    """Return one page of visit points as a FeatureCollection built by PostGIS, with the page's numbers
    (`total`, `page`, `page_size`) as foreign members, ordered by visit id."""
    properties = sa.func.json_build_object(
        "id", Visit.id, "case_id", Visit.case_id, "kind", Visit.kind, "status", Visit.status,
        "priority", Visit.priority, "due_by", Visit.due_by, "collector_id", Visit.collector_id,
        "scheduled_date", Visit.scheduled_date, "requires_two", Visit.requires_two,
        "outsourced", Visit.outsourced,
        # An unexpired hazard flag on the address (the console marks it; the flag's words stay off the map).
        "hazard", sa.exists().where(HazardFlag.address_id == Visit.address_id, HazardFlag.expires_at > utcnow()),
        "pin", pin_json())
    feature = sa.func.json_build_object(
        "type", "Feature", "id", Visit.id,
        "geometry", sa.cast(sa.func.ST_AsGeoJSON(CaseAddress.location, 7), sa.JSON),
        "properties", properties).label("feature")
    query = filtered_visits(**filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.with_only_columns(Visit.id).subquery()))
    features = (query.outerjoin(VisitPin, VisitPin.visit_id == Visit.id)
                .with_only_columns(feature, Visit.id.label("visit_id"))
                .order_by(Visit.id).limit(page_size).offset((page - 1) * page_size).subquery())
    collection = sa.select(sa.func.json_build_object(
        "type", "FeatureCollection",
        "features", sa.func.coalesce(sa.func.json_agg(aggregate_order_by(features.c.feature, features.c.visit_id)),
                                     sa.text("'[]'::json")),
        "total", total, "page", page, "page_size", page_size))
    return session.scalar(collection)


def approve_visit(session: Session, visit_id: int, *, actor_id: int) -> Visit:
    """A supervisor approves an outsourced visit: it may now be scheduled."""
    visit = get_visit(session, visit_id, lock=True)
    if visit.status is not VisitStatus.NEEDS_APPROVAL:
        raise DomainError("illegal_transition", f"visit {visit.id} is {visit.status.value}; only a visit that "
                          "needs approval can be approved", extra={"from": visit.status.value, "to": "scheduled"})
    move(visit, VisitStatus.SCHEDULED)
    visit.approved_by_id, visit.approved_at = actor_id, utcnow()
    record_audit(session, actor_id=actor_id, action="visit.approve", subject_type="visit", subject_id=visit.id)
    session.flush()
    return visit


def absent_collector_ids(session: Session, day: date) -> set[int]:
    """The collectors recorded absent on day (visits.absences records them; plans leave them out)."""
    return set(session.scalars(sa.select(CollectorAbsence.collector_id).where(CollectorAbsence.day == day)))


def lock_collectors(session: Session, collector_ids: Iterable[int]) -> dict[int, User]:
    """Read these users' rows FOR SHARE, in id order, re-read as the lock finds them (visits.days' step
    2½: after the collector-day locks, before any visit row): a deactivation under way commits first."""
    ids = sorted(set(collector_ids))
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id)
                                             .with_for_update(read=True)
                                             .execution_options(populate_existing=True))}


def assignable_collector(session: Session, collector_id: int, *, lock: bool = False) -> User:
    """The active collector `collector_id` names: 404 for no user, 422 naming collector_id for anyone else.
    With `lock`, the row is read FOR SHARE (lock_collectors): a deactivation meanwhile is waited for."""
    collector = lock_collectors(session, [collector_id]).get(collector_id) if lock else session.get(User, collector_id)
    if collector is None:
        raise NotFound("collector", collector_id, field="collector_id")
    if collector.role is not Role.COLLECTOR or not collector.active:
        raise InvalidInput("collector_id", f"user {collector_id} is not an active collector")
    return collector


def check_crew_and_skills(visit: Visit, collector: User) -> None:
    """Refuse (409) a collector who lacks the crew or the skills the visit needs, on any day."""
    if visit.requires_two and collector.team_size < 2:
        raise DomainError("needs_two_person_crew", "this address is hazard-flagged: a two-person crew must go",
                          fields={"collector_id": "team_size below 2"})
    missing = sorted(set(visit.required_skills or ()) - set(collector.skills or ()))
    if missing:
        raise DomainError("missing_skills", f"the collector lacks {', '.join(missing)}",
                          fields={"collector_id": f"missing skills: {', '.join(missing)}"})


def check_fit(session: Session, visit: Visit, collector: User, day: date) -> None:
    """Refuse (409) a collector who lacks the crew, the skills or the room that day for the visit."""
    check_crew_and_skills(visit, collector)
    taken = session.scalar(sa.select(sa.func.count(Visit.id)).where(
        Visit.collector_id == collector.id, Visit.scheduled_date == day, Visit.status.in_(COUNTED),
        Visit.id != visit.id))
    if taken >= collector.max_visits_per_day:
        raise DomainError("max_visits_reached",
                          f"the collector already has {taken} visits on {day.isoformat()}",
                          fields={"date": f"max_visits_per_day {collector.max_visits_per_day} reached"})


def assign_visit(session: Session, visit_id: int, *, collector_id: int, day: date, actor_id: int) -> Visit:
    """Give a visit to an active collector for a day (their crew, skills and daily cap permitting)."""
    # The collector's day before the visit's row (visits.days' lock order): two dispatchers cannot both
    # take the last slot, and an absence recorded meanwhile is read, or waits and then releases the visit.
    lock_collector_days(session, [(collector_id, day)])
    # Then the collector's row, shared, still before the visit's (a deactivation holds it and then wants
    # the collector's visits): one under way commits first and the check below reads `active` false.
    lock_collectors(session, [collector_id])
    visit = get_visit(session, visit_id, lock=True)
    collector = assignable_collector(session, collector_id)  # the row just locked, checked after the visit's 404
    local_today = utcnow().astimezone(ZoneInfo(collector.timezone)).date()
    if day < local_today:
        raise InvalidInput("date", "must not be in the past")
    check_transition(visit, VisitStatus.ASSIGNED)
    if collector.id in absent_collector_ids(session, day):
        raise DomainError("collector_absent", f"the collector is absent on {day.isoformat()}",
                          fields={"date": "the collector is absent"})
    check_fit(session, visit, collector, day)
    if visit.status is VisitStatus.ASSIGNED and (visit.collector_id, visit.scheduled_date) != (collector.id, day):
        visit_released.send(visit, session=session)
    move(visit, VisitStatus.ASSIGNED)
    visit.collector_id, visit.scheduled_date = collector.id, day
    record_audit(session, actor_id=actor_id, action="visit.assign", subject_type="visit", subject_id=visit.id,
                 collector_id=collector.id, date=day.isoformat())
    session.flush()
    return visit


def cancel_visit(session: Session, visit_id: int, *, reason: str, actor_id: int) -> Visit:
    """Cancel a visit that has not started; it leaves any route it was on."""
    visit = get_visit(session, visit_id, lock=True)
    move(visit, VisitStatus.CANCELLED)
    visit.cancel_reason = reason
    visit_released.send(visit, session=session)
    visit_closed.send(visit, session=session, actor_id=actor_id)
    record_audit(session, actor_id=actor_id, action="visit.cancel", subject_type="visit", subject_id=visit.id,
                 reason=reason)
    session.flush()
    return visit


def start_visit(session: Session, visit_id: int, *, collector: User) -> Visit:
    """The assigned collector is at the door: the visit is under way."""
    visit = get_visit(session, visit_id, viewer=collector, lock=True)
    move(visit, VisitStatus.IN_PROGRESS)
    record_audit(session, actor_id=collector.id, action="visit.start", subject_type="visit", subject_id=visit.id)
    session.flush()
    return visit


def assign_planned(visits: list[Visit], collector_id: int, day: date) -> None:
    """A plan gives these locked visits to a collector for a day (done and in-progress ones stay as they are)."""
    for visit in visits:
        if visit.status in FIXED:
            continue
        if visit.status is not VisitStatus.ASSIGNED or (visit.collector_id, visit.scheduled_date) != (collector_id, day):
            move(visit, VisitStatus.ASSIGNED)
        visit.collector_id, visit.scheduled_date = collector_id, day


def return_to_pool(visits: list[Visit], collector_ids: set[int], day: date | None) -> None:
    """These collectors' assigned (not started) visits of the day (None: of any day) go back to the pool:
    left off a new plan, or released by an absence or a departure (visits.absences.release_day)."""
    for visit in visits:
        if (visit.status is VisitStatus.ASSIGNED and visit.collector_id in collector_ids
                and (day is None or visit.scheduled_date == day)):
            move(visit, VisitStatus.SCHEDULED)
            visit.collector_id, visit.scheduled_date = None, None


def outcome_for_viewer(session: Session, visit_id: int, viewer: User) -> dict:
    """The visit's report from the door with its proof (distance, on-site, accuracy, fix time, flags).

    A collector reads only their own report (any other visit is 404); staff read the latest report.
    """
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFound("visit", visit_id)
    query = sa.select(VisitOutcome).where(VisitOutcome.visit_id == visit_id)
    if viewer.role is Role.COLLECTOR:
        query = query.where(VisitOutcome.collector_id == viewer.id)
    outcome = session.scalar(query.order_by(VisitOutcome.recorded_at.desc(), VisitOutcome.id.desc()).limit(1))
    if outcome is None:
        if viewer.role is Role.COLLECTOR and visit.collector_id != viewer.id:
            raise NotFound("visit", visit_id)
        raise NotFound("outcome of visit", visit_id)
    return {"id": outcome.id, "visit_id": visit.id, "collector_id": outcome.collector_id,
            "outcome": outcome.outcome.value, "recorded_at": outcome.recorded_at.isoformat(),
            "received_at": outcome.received_at.isoformat(),
            "fix_at": outcome.fix_at.isoformat() if outcome.fix_at else None, "mock_location": outcome.mock_location,
            "distance_m": outcome.distance_m, "on_site": outcome.on_site, "geofence_m": outcome.geofence_m,
            "accuracy_m": outcome.accuracy_m, "flags": list(outcome.flags), "visit_status": visit.status.value,
            "notes": outcome.notes, "reason": outcome.reason, "promise": outcome.promise, "payment": outcome.payment,
            "new_phones": outcome.new_phones, "hazards": outcome.hazards}
