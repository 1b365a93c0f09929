"""Plan the day's routes with the routing engine, and read stored routes back."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.errors import DomainError, Forbidden, InvalidInput, NotFound
from backend.jobs.models import BackgroundJob
from backend.pagination import paginate
from backend.planning.inputs import PlanInputs, load_plan_inputs, routing_settings
from backend.planning.models import Route, RoutePlan, RouteStop
from backend.planning.store import lock_day, routes_view, store_plan
from backend.routing.matrix import build_matrices
from backend.routing.schedule import PlanResult, validate
from backend.routing.solver import Replan, Standing, plan, plan_stable
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitPin
from backend.visits.service import assignable_collector, check_crew_and_skills, pin_json
from backend.visits.states import PLANNABLE

log = logging.getLogger(__name__)


class PlanBroken(RuntimeError):
    """The solver returned a plan that breaks a constraint: a bug, never stored."""


def solve_plan(inputs: PlanInputs, *, time_limit_s: float, progress: Callable[[float], None] | None = None,
               keep_assignments: bool = True) -> Replan:
    """Run the solver on the inputs and check its plan; no database access.

    A day with standing routes is re-planned stably (visits stay with their collector unless a
    move is needed or pays, see routing.stability); a day without them, or a fresh plan asked for,
    is solved whole, and pins are then honoured by the same stable pass.
    """
    if not inputs.collectors or not inputs.tasks:
        why = "no_collectors" if not inputs.collectors else "nothing_to_plan"
        return Replan(PlanResult([], [(t.id, why) for t in inputs.tasks], 0.0, "none"), {})
    settings = routing_settings()
    points = [(c.lat, c.lon) for c in inputs.collectors] + [(t.lat, t.lon) for t in inputs.tasks]
    # A fresh cache per plan: OSRM's answers for this plan's points are asked once.
    matrices = build_matrices(points, detour_factor=settings["detour_factor"], speed_mps=settings["speed_mps"],
                              osrm_url=current_app.config.get("OSRM_URL"), cache={})
    task_ids = {t.id for t in inputs.tasks}
    standing = inputs.standing
    held = any(v in task_ids for vids in standing.order.values() for v in vids)
    stable = dict(move_cost_m=settings["move_cost_m"], detour_factor=settings["detour_factor"],
                  speed_mps=settings["speed_mps"], seed=0, matrices=matrices)
    if keep_assignments and held:
        out = plan_stable(inputs.collectors, inputs.tasks, standing, time_limit_s=time_limit_s, **stable)
    else:
        result = plan(inputs.collectors, inputs.tasks, time_limit_s=time_limit_s,
                      detour_factor=settings["detour_factor"], speed_mps=settings["speed_mps"], seed=0,
                      progress=progress, matrices=matrices)
        out = Replan(result, {})
        if any(v in task_ids for v in standing.pins):
            fresh = Standing(order={r.collector_id: [s.task_id for s in r.stops] for r in result.routes},
                             pins=standing.pins)
            out = plan_stable(inputs.collectors, inputs.tasks, fresh, time_limit_s=time_limit_s, **stable)
            out.moves = {v: why for v, why in out.moves.items() if why == "pinned"}
    problems = validate(inputs.collectors, inputs.tasks, out.result, matrices)
    if problems:
        log.error("solver %s broke %d constraints: %s", out.result.solver_name, len(problems), problems[:10])
        raise PlanBroken(f"the planner broke {len(problems)} constraints; nothing was stored")
    return out


def check_plan_request(plan_date: date, time_limit_s: float | None, *, now: datetime | None = None) -> None:
    """422 for a day already over everywhere, or a solver budget above the policy's."""
    now = now or utcnow()
    # The last timezone (UTC-12) ends a day at 12:00 UTC the next day.
    if now >= datetime.combine(plan_date + timedelta(days=1), time(12), UTC):
        raise InvalidInput("date", "is in the past; plan today or a later day")
    top = routing_settings()["max_time_limit_s"]
    if time_limit_s is not None and time_limit_s > top:
        raise InvalidInput("time_limit_s", f"must be at most {top} (policy routing.max_time_limit_s)")


def plan_routes(session: Session, *, plan_date: date, collector_ids: list[int] | None = None,
                visit_ids: list[int] | None = None, actor_id: int | None, time_limit_s: float | None = None,
                progress: Callable[[float], None] | None = None, keep_assignments: bool = True) -> dict:
    """Plan and store the day's routes in the caller's transaction; return routes, unassigned, changes."""
    check_plan_request(plan_date, time_limit_s)
    lock_day(session, plan_date)  # a second plan of the day reads what the first stored
    inputs = load_plan_inputs(session, plan_date=plan_date, collector_ids=collector_ids, visit_ids=visit_ids,
                              actor_id=actor_id)
    limit = time_limit_s if time_limit_s is not None else routing_settings()["sync_time_limit_s"]
    row = RoutePlan(plan_date=plan_date, status="running", progress=0.0, time_limit_s=limit, regions=[],
                    changes=[], created_by_id=actor_id)
    session.add(row)
    session.flush()
    out = solve_plan(inputs, time_limit_s=limit, progress=progress, keep_assignments=keep_assignments)
    stored = store_plan(session, inputs, out.result, actor_id=actor_id, moves=out.moves)
    row.status, row.progress, row.changes, row.finished_at = "done", 1.0, stored["changes"], utcnow()
    return {**stored, "plan_id": row.id}


def list_routes(session: Session, *, viewer: User, page: int, page_size: int, plan_date: date | None = None,
                collector_id: int | None = None) -> tuple[list[dict], int]:
    """One page of stored routes filtered by day and collector (a collector sees only their own), and
    how many match."""
    if viewer.role is Role.COLLECTOR:
        if collector_id is not None and collector_id != viewer.id:
            raise Forbidden("collectors see only their own route")
        collector_id = viewer.id
    query = sa.select(Route.id).order_by(Route.plan_date, Route.collector_id, Route.id)
    if plan_date is not None:
        query = query.where(Route.plan_date == plan_date)
    if collector_id is not None:
        query = query.where(Route.collector_id == collector_id)
    route_ids, total = paginate(session, query, page, page_size)
    return routes_view(session, route_ids, viewer_id=viewer.id), total


def get_route(session: Session, route_id: int, *, viewer: User) -> Route:
    """Return a route the viewer may see (another collector's route is 404)."""
    route = session.get(Route, route_id)
    if route is None or (viewer.role is Role.COLLECTOR and route.collector_id != viewer.id):
        raise NotFound("route", route_id)
    return route


def route_line_feature():
    """A route's line as a GeoJSON Feature, built by PostGIS. The line runs through the stops only."""
    return sa.func.json_build_object(
        "type", "Feature", "geometry", sa.cast(sa.func.ST_AsGeoJSON(Route.path, 7), sa.JSON),
        "properties", sa.func.json_build_object("kind", "route", "route_id", Route.id,
                                                "collector_id", Route.collector_id, "date", Route.plan_date,
                                                "distance_m", Route.distance_m, "duration_s", Route.duration_s))


def stop_feature(*extra_properties):
    """A stop as a GeoJSON Feature with the times everyone may see: the day walked from the first stop
    (the collector's own ETAs count the leg from home or lodging, which is theirs alone), and its visit's
    pin as route stops and GET /visits show it (null when none)."""
    pin = (sa.select(pin_json()).where(VisitPin.visit_id == RouteStop.visit_id)
           .correlate(RouteStop).scalar_subquery())
    return sa.func.json_build_object(
        "type", "Feature", "geometry", sa.cast(sa.func.ST_AsGeoJSON(RouteStop.location, 7), sa.JSON),
        "properties", sa.func.json_build_object("kind", "stop", *extra_properties, "sequence", RouteStop.sequence,
                                                "visit_id", RouteStop.visit_id, "eta", RouteStop.shared_eta,
                                                "departure", RouteStop.shared_departure, "fixed", RouteStop.fixed,
                                                "pin", pin))


def route_geojson(session: Session, route: Route) -> dict:
    """The route as a FeatureCollection built by PostGIS: its line, then its stops in order.

    The line starts at the first stop: the start point (home or lodging) is never part of it.
    """
    stops = (sa.select(sa.func.coalesce(sa.func.json_agg(aggregate_order_by(stop_feature(), RouteStop.sequence)),
                                        sa.text("'[]'::json")))
             .where(RouteStop.route_id == route.id).scalar_subquery())
    row = session.execute(sa.select(Route.path.is_not(None), route_line_feature(), stops)
                          .where(Route.id == route.id)).one()
    has_line, line_feature, stop_features = row
    return {"type": "FeatureCollection", "features": ([line_feature] if has_line else []) + stop_features}


def pin_visit(session: Session, visit_id: int, *, collector_id: int, position: int | None,
              actor_id: int | None) -> VisitPin:
    """Pin an open visit to a collector (and a stop number): every later plan keeps it there."""
    visit = session.get(Visit, visit_id, with_for_update=True)
    if visit is None:
        raise NotFound("visit", visit_id)
    if visit.status not in PLANNABLE:
        raise DomainError("visit_not_open", f"visit {visit_id} is {visit.status.value}; only open visits are pinned",
                          fields={"visit_id": visit.status.value})
    # The assign path's checks: the same misfit is the same 409 (missing_skills, needs_two_person_crew).
    check_crew_and_skills(visit, assignable_collector(session, collector_id))
    pin = session.get(VisitPin, visit_id) or VisitPin(visit_id=visit_id)
    pin.collector_id, pin.position, pin.pinned_by_id, pin.created_at = collector_id, position, actor_id, utcnow()
    session.add(pin)
    record_audit(session, actor_id=actor_id, action="visit.pin", subject_type="visit", subject_id=visit_id,
                 collector_id=collector_id, position=position)
    session.flush()
    return pin


def unpin_visit(session: Session, visit_id: int, *, actor_id: int | None) -> dict:
    """Remove a visit's pin (404 when it has none) and return what it was; the next plan may move it."""
    # The visit's row first, as pin_visit and a stop move take it: a pin set meanwhile waits for this one.
    session.get(Visit, visit_id, with_for_update=True)
    removed = drop_pin(session, visit_id, actor_id=actor_id, action="visit.unpin")
    if removed is None:
        raise NotFound("pin", visit_id)
    return removed


def drop_pin(session: Session, visit_id: int, *, actor_id: int | None, action: str, **details) -> dict | None:
    """Delete the visit's pin (the caller holds the visit's row lock), audited as `action` with what the pin
    was (the audit is its only record once the row is gone); return it, or None when there was none."""
    row = session.execute(sa.delete(VisitPin).where(VisitPin.visit_id == visit_id).returning(
        VisitPin.visit_id, VisitPin.collector_id, VisitPin.position, VisitPin.pinned_by_id, VisitPin.created_at)).first()
    if row is None:
        return None
    visit = session.get(Visit, visit_id)  # both callers hold it locked already: no statement
    if visit is not None:
        session.expire(visit, ["pin"])  # the visit's payload shows no pin from now on
    record_audit(session, actor_id=actor_id, action=action, subject_type="visit", subject_id=visit_id,
                 collector_id=row.collector_id, position=row.position, pinned_by_id=row.pinned_by_id, **details)
    session.flush()
    return dict(row._mapping)


def drop_pin_of_closed_visit(visit: Visit, *, session: Session, actor_id: int | None = None,
                             pinned: bool | None = None, **_) -> None:
    """Receiver of visit_closed (connected in backend.planning.register): a closed visit is never planned
    again, so its pin goes, audited as `visit.pin_dropped` (not a dispatcher's unpin: whoever closed the visit
    is its actor) with the status it closed in. pinned=False (the door report read it): nothing to delete."""
    if pinned is False:
        return
    drop_pin(session, visit.id, actor_id=actor_id, action="visit.pin_dropped", closed=visit.status.value)


def get_plan(session: Session, plan_id: int) -> dict:
    """One plan row: each region's job status and progress, the whole's, and what it changed."""
    row = session.get(RoutePlan, plan_id)
    if row is None:
        raise NotFound("plan", plan_id)
    jobs = {j.id: j for j in session.scalars(sa.select(BackgroundJob).where(
        BackgroundJob.id.in_([r["job_id"] for r in row.regions if r.get("job_id")])))}
    regions = []
    for region in row.regions:
        job = jobs.get(region.get("job_id"))
        regions.append({**region, "status": job.status.value if job else "missing",
                        "progress": job.progress if job else 0.0})
    view = {"id": row.id, "plan_date": row.plan_date, "time_limit_s": row.time_limit_s, "regions": regions,
            "changes": row.changes, "created_at": row.created_at, "finished_at": row.finished_at,
            "status": row.status, "progress": row.progress}
    if regions:
        states = {r["status"] for r in regions}
        view["progress"] = round(sum(r["progress"] for r in regions) / len(regions), 4)
        view["status"] = ("failed" if "failed" in states else "done" if states == {"done"}
                          else "running" if states & {"running", "done"} else "queued")
        if view["status"] == "done":
            view["finished_at"] = max(j.finished_at for j in jobs.values() if j.finished_at)
    return view
