"""A collector off for a day: their open visits that day go back to the pool in one call, and plans
leave them out (planning asks visits.service.absent_collector_ids)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.errors import DomainError, InvalidInput, NotFound
from backend.signals import visit_released
from backend.visits.days import lock_collector_days
from backend.visits.models import CollectorAbsence, Visit, VisitStatus
from backend.visits.notices import notify_visits_released_by_departure
from backend.visits.service import return_to_pool


def _collector(session: Session, collector_id: int) -> User:
    user = session.get(User, collector_id)
    if user is None or user.role is not Role.COLLECTOR:
        raise NotFound("collector", collector_id)
    return user


def release_day(session: Session, collector_id: int, day: date | None) -> list[int]:
    """Hand the collector's assigned (not yet started) visits of the day (None: of every day) back to
    the pool; their ids. A visit under way stays: the collector is at the door. Each released visit
    leaves its route."""
    query = sa.select(Visit).where(Visit.collector_id == collector_id, Visit.status == VisitStatus.ASSIGNED)
    if day is not None:
        query = query.where(Visit.scheduled_date == day)
    visits = list(session.scalars(query.order_by(Visit.id).with_for_update()))
    for visit in visits:
        visit_released.send(visit, session=session)
    return_to_pool(visits, {collector_id}, day)
    session.flush()
    return [visit.id for visit in visits]


def record_absence(session: Session, *, collector_id: int, day: date, reason: str,
                   actor_id: int) -> tuple[CollectorAbsence, list[int]]:
    """Record the collector absent on day and release that day's visits (409 if already recorded)."""
    _collector(session, collector_id)
    # The collector's day before reading it: an assignment or plan under way for it commits first and
    # its visits are released below; a second dispatcher recording the same absence waits, then 409s.
    lock_collector_days(session, [(collector_id, day)])
    existing = session.scalar(sa.select(CollectorAbsence).where(
        CollectorAbsence.collector_id == collector_id, CollectorAbsence.day == day))
    if existing is not None:
        raise DomainError("absence_exists", f"collector {collector_id} is already absent on {day.isoformat()}",
                          fields={"date": "already recorded"}, extra={"absence_id": existing.id})
    if not reason.strip():
        raise InvalidInput("reason", "say why the collector is absent")
    absence = CollectorAbsence(collector_id=collector_id, day=day, reason=reason.strip(), created_by_id=actor_id)
    session.add(absence)
    session.flush()
    released = release_day(session, collector_id, day)
    record_audit(session, actor_id=actor_id, action="collector.absence", subject_type="user",
                 subject_id=collector_id, date=day.isoformat(), reason=absence.reason, released=released)
    return absence, released


def remove_absence(session: Session, *, collector_id: int, day: date, actor_id: int) -> CollectorAbsence:
    """The collector works on day after all (their released visits stay in the pool for the next plan)."""
    _collector(session, collector_id)
    # A plan being stored reads this absence under the same lock: it sees the collector either absent or
    # back, never half; a second dispatcher removing the same absence waits, then 404s.
    lock_collector_days(session, [(collector_id, day)])
    absence = session.scalar(sa.select(CollectorAbsence).where(
        CollectorAbsence.collector_id == collector_id, CollectorAbsence.day == day))
    if absence is None:
        raise NotFound("absence", f"of collector {collector_id} on {day.isoformat()}")
    session.delete(absence)
    record_audit(session, actor_id=actor_id, action="collector.absence_removed", subject_type="user",
                 subject_id=collector_id, date=day.isoformat())
    session.flush()
    return absence


def list_absences(session: Session, *, collector_id: int | None = None, day: date | None = None):
    """Absences, newest day first, as a statement to paginate."""
    query = sa.select(CollectorAbsence)
    if collector_id is not None:
        query = query.where(CollectorAbsence.collector_id == collector_id)
    if day is not None:
        query = query.where(CollectorAbsence.day == day)
    return query.order_by(CollectorAbsence.day.desc(), CollectorAbsence.id)


def absence_view(absence: CollectorAbsence, released: list[int] | None = None) -> dict:
    view = {"id": absence.id, "collector_id": absence.collector_id, "date": absence.day, "reason": absence.reason,
            "created_by_id": absence.created_by_id, "created_at": absence.created_at}
    if released is not None:
        view["released_visit_ids"] = released
    return view


def release_deactivated(user: User, *, session: Session, **_) -> None:
    """Receiver of user_deactivated (connected in backend.visits.register): a collector who leaves hands
    back every visit given to them, so no plan or dispatcher counts on them."""
    if user.role is not Role.COLLECTOR:
        return
    released = release_day(session, user.id, None)
    if released:
        record_audit(session, actor_id=None, action="visits.release_deactivated", subject_type="user",
                     subject_id=user.id, released=released)
        notify_visits_released_by_departure(session, collector=user, visit_ids=released)
