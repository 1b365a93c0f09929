"""The collector's day on the phone: ordered stops with what is needed at the door, nothing more.

No phone numbers, no third parties, no other collector: the address, its hazard flags, who lives
there, what is owed, the kind of visit, its window and how the last visit to the case ended.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.cases.models import Case, CaseAddress
from backend.planning.models import Route, RouteStop
from backend.visits.hazards import active_hazards, hazard_view
from backend.visits.models import Visit, VisitOutcome, VisitStatus

ON_THE_DAY = (VisitStatus.ASSIGNED, VisitStatus.IN_PROGRESS, VisitStatus.DONE, VisitStatus.FAILED)


def _day_rows(session: Session, collector_id: int, day: date):
    """The collector's route of the day (id, version; (None, None) when unplanned) and their visits of the
    day with their stop (if planned), in route order."""
    route = session.execute(sa.select(Route.id, Route.version)
                            .where(Route.collector_id == collector_id, Route.plan_date == day)).one_or_none()
    route_id, version = route if route is not None else (None, None)
    geometry = sa.func.geometry(CaseAddress.location)
    query = (sa.select(Visit, Case.debtor_name, Case.amount_due, Case.currency, CaseAddress.text,
                       sa.func.ST_Y(geometry), sa.func.ST_X(geometry), RouteStop.eta)
             .join(Case, Case.id == Visit.case_id).join(CaseAddress, CaseAddress.id == Visit.address_id)
             .outerjoin(RouteStop, sa.and_(RouteStop.visit_id == Visit.id, RouteStop.route_id == route_id))
             .where(Visit.collector_id == collector_id, Visit.scheduled_date == day, Visit.status.in_(ON_THE_DAY))
             .order_by(RouteStop.sequence.asc().nulls_last(), Visit.due_by, Visit.id))
    return route_id, version, session.execute(query).all()


def _last_outcomes(session: Session, case_ids: list[int]) -> dict[int, dict]:
    """How the latest reported visit of each case ended (outcome and when; no notes)."""
    if not case_ids:
        return {}
    rows = session.execute(
        sa.select(Visit.case_id, VisitOutcome.outcome, VisitOutcome.recorded_at)
        .join(Visit, Visit.id == VisitOutcome.visit_id).where(Visit.case_id.in_(case_ids))
        .order_by(Visit.case_id, VisitOutcome.recorded_at.desc()).ext(distinct_on(Visit.case_id)))
    return {case_id: {"outcome": outcome.value, "recorded_at": at} for case_id, outcome, at in rows}


def mobile_route(session: Session, *, collector: User, day: date) -> dict:
    """Return the collector's ordered stops for the day."""
    route_id, version, rows = _day_rows(session, collector.id, day)
    hazards = active_hazards(session, [row[0].address_id for row in rows])
    last = _last_outcomes(session, sorted({row[0].case_id for row in rows}))
    stops = []
    for sequence, (visit, name, amount, currency, text, lat, lon, eta) in enumerate(rows, start=1):
        stops.append({
            "sequence": sequence, "visit_id": visit.id, "eta": eta, "kind": visit.kind.value,
            "status": visit.status.value, "window": {"start": visit.window_start, "end": visit.window_end},
            "address": {"text": text, "lat": lat, "lon": lon},
            "hazards": [hazard_view(flag) for flag in hazards.get(visit.address_id, [])],
            "requires_two": visit.requires_two, "debtor_name": name, "amount_due": amount, "currency": currency,
            "last_outcome": last.get(visit.case_id)})
    return {"date": day, "route_id": route_id, "version": version, "stops": stops}
