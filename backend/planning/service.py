"""Plan the day's routes with the routing engine, and read stored routes back."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.errors import Forbidden, NotFound
from backend.pagination import paginate
from backend.planning.inputs import PlanInputs, load_plan_inputs, routing_settings
from backend.planning.models import Route, RouteStop
from backend.planning.store import lock_day, routes_view, store_plan
from backend.routing.matrix import build_matrices
from backend.routing.schedule import PlanResult, validate
from backend.routing.solver import plan

log = logging.getLogger(__name__)


class PlanBroken(RuntimeError):
    """The solver returned a plan that breaks a constraint: a bug, never stored."""


def solve_plan(inputs: PlanInputs, *, time_limit_s: float,
               progress: Callable[[float], None] | None = None) -> PlanResult:
    """Run the solver on the inputs and check its plan; no database access."""
    if not inputs.collectors or not inputs.tasks:
        why = "no_collectors" if not inputs.collectors else "nothing_to_plan"
        return PlanResult([], [(t.id, why) for t in inputs.tasks], 0.0, "none")
    settings = routing_settings()
    points = [(c.lat, c.lon) for c in inputs.collectors] + [(t.lat, t.lon) for t in inputs.tasks]
    # A fresh cache per plan: OSRM's answers for this plan's points are asked once.
    matrices = build_matrices(points, detour_factor=settings["detour_factor"], speed_mps=settings["speed_mps"],
                              osrm_url=current_app.config.get("OSRM_URL"), cache={})
    result = plan(inputs.collectors, inputs.tasks, time_limit_s=time_limit_s,
                  detour_factor=settings["detour_factor"], speed_mps=settings["speed_mps"], seed=0,
                  progress=progress, matrices=matrices)
    problems = validate(inputs.collectors, inputs.tasks, result, matrices)
    if problems:
        log.error("solver %s broke %d constraints: %s", result.solver_name, len(problems), problems[:10])
        raise PlanBroken(f"the planner broke {len(problems)} constraints; nothing was stored")
    return result


def plan_routes(session: Session, *, plan_date: date, collector_ids: list[int] | None = None,
                visit_ids: list[int] | None = None, actor_id: int | None, time_limit_s: float | None = None,
                progress: Callable[[float], None] | None = None) -> dict:
    """Plan and store the day's routes in the caller's transaction; return routes and unassigned."""
    lock_day(session, plan_date)  # a second plan of the day reads what the first stored
    inputs = load_plan_inputs(session, plan_date=plan_date, collector_ids=collector_ids, visit_ids=visit_ids,
                              actor_id=actor_id)
    limit = time_limit_s if time_limit_s is not None else routing_settings()["sync_time_limit_s"]
    result = solve_plan(inputs, time_limit_s=limit, progress=progress)
    return store_plan(session, inputs, result, actor_id=actor_id)


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


def route_geojson(session: Session, route: Route) -> dict:
    """The route as a FeatureCollection built by PostGIS: its line, then its stops in order.

    The line starts at the first stop: the start point (home or lodging) is never part of it.
    """
    stop_feature = sa.func.json_build_object(
        "type", "Feature", "geometry", sa.cast(sa.func.ST_AsGeoJSON(RouteStop.location, 7), sa.JSON),
        "properties", sa.func.json_build_object("kind", "stop", "sequence", RouteStop.sequence,
                                                "visit_id", RouteStop.visit_id, "eta", RouteStop.shared_eta,
                                                "departure", RouteStop.shared_departure, "fixed", RouteStop.fixed))
    stops = (sa.select(sa.func.coalesce(sa.func.json_agg(aggregate_order_by(stop_feature, RouteStop.sequence)),
                                        sa.text("'[]'::json")))
             .where(RouteStop.route_id == route.id).scalar_subquery())
    line = sa.func.json_build_object(
        "type", "Feature", "geometry", sa.cast(sa.func.ST_AsGeoJSON(Route.path, 7), sa.JSON),
        "properties", sa.func.json_build_object("kind", "route", "route_id", Route.id,
                                                "collector_id", Route.collector_id, "date", Route.plan_date,
                                                "distance_m", Route.distance_m, "duration_s", Route.duration_s))
    row = session.execute(sa.select(Route.path.is_not(None), line, stops).where(Route.id == route.id)).one()
    has_line, line_feature, stop_features = row
    return {"type": "FeatureCollection", "features": ([line_feature] if has_line else []) + stop_features}
