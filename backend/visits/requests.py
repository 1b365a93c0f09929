"""Raising a visit request: by a dispatcher, or by a rule (triggers, broken promises)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.cases.models import Case, CaseAddress
from backend.errors import DomainError, InvalidInput, NotFound
from backend.policy.calendar import add_working_days
from backend.policy.service import get_policy
from backend.timeutil import utcnow
from backend.visits.hazards import active_hazards
from backend.visits.models import OPEN_STATUSES, Visit, VisitKind, VisitStatus
from backend.visits.notices import notify_visit_requested


def _address_for(session: Session, case: Case, address_id: int | None) -> CaseAddress:
    if address_id is None:
        address = session.scalar(sa.select(CaseAddress).where(CaseAddress.case_id == case.id,
                                                              CaseAddress.superseded_at.is_(None))
                                 .order_by(CaseAddress.kind, CaseAddress.id).limit(1))
        if address is None:
            raise InvalidInput("address_id", "the case has no address to visit")
        return address
    address = session.get(CaseAddress, address_id)
    if address is None or address.case_id != case.id:
        raise InvalidInput("address_id", f"address {address_id} is not an address of case {case.id}")
    if address.superseded_at is not None:
        raise InvalidInput("address_id", f"address {address_id} was replaced by address {address.superseded_by_id}")
    return address


def is_far_from_every_collector(session: Session, address_id: int, distance_m: float) -> bool:
    """Whether no active collector's home lies within distance_m of the address (one PostGIS query).

    An address without a position yet is not "far": outsourcing is decided by distance, not by ignorance.
    """
    near = session.scalar(
        sa.select(sa.literal(True))
        .select_from(User).join(CaseAddress, CaseAddress.id == address_id)
        .where(sa.or_(CaseAddress.location.is_(None),
                      sa.and_(User.role == Role.COLLECTOR, User.active.is_(True), User.home.is_not(None),
                              sa.func.ST_DWithin(User.home, CaseAddress.location, distance_m))))
        .limit(1))
    return not near


def due_by_for(now: datetime, tz_name: str, policy) -> datetime:
    """`visits.due_days` working days from now in the debtor's country (holidays and make-up days counted)."""
    today = now.astimezone(ZoneInfo(tz_name)).date()
    return now + (add_working_days(today, policy["visits.due_days"], policy) - today)


def refuse_duplicate(session: Session, case_id: int, kind: VisitKind) -> None:
    """409 duplicate_visit naming the open request of this kind for the case, if there is one."""
    open_id = session.scalar(sa.select(Visit.id).where(
        Visit.case_id == case_id, Visit.kind == kind, Visit.status.in_(OPEN_STATUSES)).order_by(Visit.id).limit(1))
    if open_id is not None:
        raise DomainError("duplicate_visit", f"case {case_id} already has an open {kind.value} visit ({open_id})",
                          fields={"kind": f"open {kind.value} visit {open_id} exists"},
                          extra={"visit_id": open_id})


def request_visit(session: Session, *, case_id: int, kind: VisitKind | str, reason: str = "",
                  address_id: int | None = None, priority: int = 3, window_start: datetime | None = None,
                  window_end: datetime | None = None, requested_by_id: int | None = None,
                  source: str = "manual", dedupe_key: str | None = None, now: datetime | None = None,
                  required_skills: list[str] | None = None, one_open_per_kind: bool = False) -> Visit:
    """Create a visit request: due within the policy's days; outsourced (needs approval) when far.

    With a dedupe_key, raising the same request again returns the stored one. With one_open_per_kind
    (a dispatcher's request) a request while one of the same kind is open for the case is a 409
    duplicate_visit: the planner would send two collectors to one door.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id, field="case_id")
    if one_open_per_kind:
        # One request per case and kind at a time: two dispatchers asking at once store one.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            sa.func.hashtextextended(f"visits.request:{case.id}:{VisitKind(kind).value}", 0))))
        refuse_duplicate(session, case.id, VisitKind(kind))
    if dedupe_key:
        existing = session.scalar(sa.select(Visit).where(Visit.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    if window_start and window_end and window_end <= window_start:
        raise InvalidInput("window_end", "must be after window_start")
    address = _address_for(session, case, address_id)
    policy = get_policy(session, case.portfolio_id)
    now = now or utcnow()
    outsourced = is_far_from_every_collector(session, address.id, policy["visits.outsource_distance_m"])
    hazards = active_hazards(session, [address.id]).get(address.id, [])
    values = dict(
        case_id=case.id, address_id=address.id, kind=VisitKind(kind), reason=reason or "", priority=priority,
        window_start=window_start, window_end=window_end, source=source, dedupe_key=dedupe_key,
        status=VisitStatus.NEEDS_APPROVAL if outsourced else VisitStatus.REQUESTED,
        due_by=due_by_for(now, case.timezone, policy), outsourced=outsourced,
        requires_two=any(flag.requires_two for flag in hazards), requested_by_id=requested_by_id,
        required_skills=sorted(set(required_skills or [])), created_at=now, updated_at=now)
    if dedupe_key:
        # Two sweeps racing on the same rule store one request.
        inserted = session.scalar(insert(Visit).values(**values).on_conflict_do_nothing(
            index_elements=["dedupe_key"]).returning(Visit.id))
        visit_id = inserted or session.scalar(sa.select(Visit.id).where(Visit.dedupe_key == dedupe_key))
        visit = session.get(Visit, visit_id)
        if inserted:
            notify_visit_requested(session, visit=visit, address_text=address.text, adcode=address.adcode)
        return visit
    visit = Visit(**values)
    session.add(visit)
    session.flush()
    notify_visit_requested(session, visit=visit, address_text=address.text, adcode=address.adcode)
    return visit
