"""Supervisors' review of doubtful reports, each collector's day in figures, and the day's map."""
from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.errors import DomainError, NotFound
from backend.fieldday.models import OutcomeReview, ReviewDecision
from backend.pagination import paginate
from backend.planning.models import Route, RouteStop
from backend.planning.service import route_line_feature, stop_feature
from backend.visits.models import FAILED_OUTCOMES, OutcomeFlag, OutcomeKind, Visit, VisitOutcome

OFF_SITE = "off_site"
# What puts a report in the review queue: any stored flag, or a report made outside the geofence.
REVIEW_REASONS = (OFF_SITE, *(flag.value for flag in OutcomeFlag))


def _needs_review():
    return sa.or_(sa.func.cardinality(VisitOutcome.flags) > 0, VisitOutcome.on_site.is_(False))


def review_queue(*, state: str = "open", reason: str | None = None, collector_id: int | None = None) -> sa.Select:
    """Flagged outcomes (open: not yet decided; closed: decided; all), oldest first, as a statement."""
    query = (sa.select(VisitOutcome, Visit.case_id, OutcomeReview)
             .join(Visit, Visit.id == VisitOutcome.visit_id)
             .outerjoin(OutcomeReview, OutcomeReview.outcome_id == VisitOutcome.id)
             .where(_needs_review()))
    if state == "open":
        query = query.where(OutcomeReview.id.is_(None))
    elif state == "closed":
        query = query.where(OutcomeReview.id.is_not(None))
    if reason == OFF_SITE:
        query = query.where(VisitOutcome.on_site.is_(False))
    elif reason is not None:
        query = query.where(sa.literal(reason) == sa.any_(VisitOutcome.flags))
    if collector_id is not None:
        query = query.where(VisitOutcome.collector_id == collector_id)
    return query.order_by(VisitOutcome.recorded_at, VisitOutcome.id)


def review_item(outcome: VisitOutcome, case_id: int, review: OutcomeReview | None) -> dict:
    """A flagged outcome as the queue shows it: the proof, why it is doubted, and the decision if any."""
    reasons = ([OFF_SITE] if not outcome.on_site else []) + list(outcome.flags)
    return {"outcome_id": outcome.id, "visit_id": outcome.visit_id, "case_id": case_id,
            "collector_id": outcome.collector_id, "outcome": outcome.outcome.value,
            "recorded_at": outcome.recorded_at, "received_at": outcome.received_at, "fix_at": outcome.fix_at,
            "distance_m": outcome.distance_m, "on_site": outcome.on_site, "accuracy_m": outcome.accuracy_m,
            "mock_location": outcome.mock_location, "reasons": reasons,
            "review": None if review is None else {
                "decision": review.decision.value, "note": review.note, "reviewed_by_id": review.reviewed_by_id,
                "reviewed_at": review.reviewed_at}}


def decide(session: Session, *, outcome_id: int, decision: ReviewDecision | str, note: str,
           actor_id: int) -> dict:
    """Close a flagged outcome with a decision and a note (audited); once only (409 after)."""
    row = session.execute(review_queue(state="all").where(VisitOutcome.id == outcome_id)).one_or_none()
    if row is None:
        if session.get(VisitOutcome, outcome_id) is None:
            raise NotFound("outcome", outcome_id)
        raise DomainError("nothing_to_review", f"outcome {outcome_id} carries no flag to review")
    outcome, case_id, review = row
    if review is not None:
        raise DomainError("already_reviewed", f"outcome {outcome_id} was reviewed at {review.reviewed_at.isoformat()}",
                          extra={"decision": review.decision.value})
    if not note.strip():
        raise DomainError("validation_error", "note: say why", status=422, fields={"note": "say why"})
    review = OutcomeReview(outcome_id=outcome.id, decision=ReviewDecision(decision), note=note.strip(),
                           reviewed_by_id=actor_id)
    session.add(review)
    session.flush()
    record_audit(session, actor_id=actor_id, action="outcome.review", subject_type="visit_outcome",
                 subject_id=outcome.id, decision=review.decision.value, note=review.note,
                 reasons=review_item(outcome, case_id, None)["reasons"])
    return review_item(outcome, case_id, review)


# ---- each collector's day ------------------------------------------------------------------------

DAILY_COLUMNS = ("date", "collector_id", "name", "visits_done", "visits_failed", "on_site_rate", "promises",
                 "promised_amount", "payments", "paid_amount", "km_travelled", "km_planned", "flags")


def collectors_daily(session: Session, *, day: date, collector_id: int | None = None) -> sa.Select:
    """One row per collector who reported or had a route on day (their local day), as a statement.

    km_travelled is the line through the day's reports in time order; km_planned the stored route.
    """
    local_day = sa.cast(sa.func.timezone(User.timezone, VisitOutcome.recorded_at), sa.Date)
    failed = sorted(k.value for k in FAILED_OUTCOMES)
    outcome_kind = sa.cast(VisitOutcome.outcome, sa.String)
    reports = (
        sa.select(
            VisitOutcome.collector_id.label("collector_id"),
            sa.func.count().filter(outcome_kind.not_in(failed)).label("visits_done"),
            sa.func.count().filter(outcome_kind.in_(failed)).label("visits_failed"),
            sa.func.avg(sa.cast(VisitOutcome.on_site, sa.Integer)).label("on_site_rate"),
            sa.func.count().filter(outcome_kind == OutcomeKind.PROMISE_TO_PAY.value).label("promises"),
            sa.func.coalesce(sa.func.sum(sa.cast(VisitOutcome.promise["amount"].astext, sa.Numeric)), 0)
            .label("promised_amount"),
            sa.func.count().filter(outcome_kind == OutcomeKind.PAID.value).label("payments"),
            sa.func.coalesce(sa.func.sum(sa.cast(VisitOutcome.payment["amount"].astext, sa.Numeric)), 0)
            .label("paid_amount"),
            sa.func.coalesce(sa.func.ST_Length(sa.func.geography(sa.func.ST_MakeLine(aggregate_order_by(
                sa.func.geometry(VisitOutcome.location), VisitOutcome.recorded_at)))), 0).label("trail_m"),
            sa.func.count().filter(VisitOutcome.on_site.is_(False)).label("off_site"),
            sa.func.array_agg(sa.func.array_to_string(VisitOutcome.flags, ",")).label("flag_lists"))
        .join(User, User.id == VisitOutcome.collector_id)
        .where(local_day == day)
        .group_by(VisitOutcome.collector_id).subquery("reports"))
    planned = (sa.select(Route.collector_id, Route.distance_m).where(Route.plan_date == day).subquery("planned"))
    active = sa.union(sa.select(reports.c.collector_id), sa.select(planned.c.collector_id)).subquery("active")
    query = (sa.select(User.id, User.name, reports, planned.c.distance_m)
             .select_from(active).join(User, User.id == active.c.collector_id)
             .outerjoin(reports, reports.c.collector_id == User.id)
             .outerjoin(planned, planned.c.collector_id == User.id)
             .where(User.role == Role.COLLECTOR))
    if collector_id is not None:
        query = query.where(User.id == collector_id)
    return query.order_by(User.name, User.id)


def daily_row(day: date, row) -> dict:
    """One collector's day as the report shows it."""
    flags: dict[str, int] = {}
    if row.off_site:
        flags[OFF_SITE] = row.off_site
    for listed in row.flag_lists or []:
        for name in filter(None, (listed or "").split(",")):
            flags[name] = flags.get(name, 0) + 1
    return {"date": day, "collector_id": row.id, "name": row.name, "visits_done": row.visits_done or 0,
            "visits_failed": row.visits_failed or 0,
            "on_site_rate": None if row.on_site_rate is None else round(float(row.on_site_rate), 3),
            "promises": row.promises or 0, "promised_amount": str(row.promised_amount or 0),
            "payments": row.payments or 0, "paid_amount": str(row.paid_amount or 0),
            "km_travelled": round(float(row.trail_m or 0) / 1000, 2),
            "km_planned": None if row.distance_m is None else round(row.distance_m / 1000, 2), "flags": flags}


def daily_csv(rows: list[dict]) -> str:
    """The report as CSV (flags as name=count pairs), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DAILY_COLUMNS)
    for row in rows:
        values = {**row, "flags": ";".join(f"{k}={v}" for k, v in sorted(row["flags"].items())),
                  "on_site_rate": "" if row["on_site_rate"] is None else row["on_site_rate"],
                  "km_planned": "" if row["km_planned"] is None else row["km_planned"]}
        writer.writerow([values[column] for column in DAILY_COLUMNS])
    return out.getvalue()


# ---- the day's map ------------------------------------------------------------------------------

def day_routes_geojson(session: Session, day: date, *, page: int = 1, page_size: int = 100) -> dict:
    """The day's stored routes in one FeatureCollection, a page of routes at a time (by collector):
    each route's line, then every stop of those routes; `total` counts routes.

    Sealed like a single route's GeoJSON: lines run through the stops only, so no lodging or home leg.
    """
    route_ids, total = paginate(session, sa.select(Route.id).where(Route.plan_date == day)
                                .order_by(Route.collector_id, Route.id), page, page_size)
    lines = list(session.scalars(sa.select(route_line_feature()).where(Route.id.in_(route_ids),
                                                                        Route.path.is_not(None))
                                 .order_by(Route.collector_id, Route.id)))
    stop = stop_feature("route_id", RouteStop.route_id, "collector_id", Route.collector_id)
    stops = list(session.scalars(sa.select(stop).join(Route, Route.id == RouteStop.route_id)
                                 .where(Route.id.in_(route_ids))
                                 .order_by(Route.collector_id, Route.id, RouteStop.sequence)))
    return {"type": "FeatureCollection", "features": lines + stops, "total": total, "page": page,
            "page_size": page_size}
