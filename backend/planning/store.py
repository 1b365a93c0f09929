"""Store a plan's routes (replacing the day's earlier ones) and read routes back."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.auth.models import User
from backend.geo import make_point
from backend.planning.inputs import PlanInputs
from backend.planning.models import Route, RouteStop
from backend.planning.notices import notify_route_changes
from backend.routing.schedule import PlanResult
from backend.visits.days import lock_collector_days
from backend.visits.models import Visit, VisitPin
from backend.visits.service import (
    absent_collector_ids,
    assign_planned,
    lock_collectors,
    pin_view,
    return_to_pool,
)
from backend.visits.states import PLANNABLE


def refresh_paths(session: Session, route_ids: list[int]) -> None:
    """Recompute each route's line through its stops in order, in PostGIS (none below two stops)."""
    if not route_ids:
        return
    session.flush()
    line = (sa.select(sa.func.ST_MakeLine(aggregate_order_by(sa.func.geometry(RouteStop.location),
                                                                RouteStop.sequence)))
            .where(RouteStop.route_id == Route.id).scalar_subquery())
    stop_count = sa.select(sa.func.count()).where(RouteStop.route_id == Route.id).scalar_subquery()
    session.execute(sa.update(Route).where(Route.id.in_(route_ids)).values(
        path=sa.case((stop_count >= 2, sa.func.geography(line)), else_=None)),
        execution_options={"synchronize_session": False})


def release_visit(visit: Visit, *, session: Session, **_) -> None:
    """Receiver of visit_released (connected in backend.planning.register): the visit leaves its route."""
    remove_visits_from_routes(session, [visit.id])


def remove_visits_from_routes(session: Session, visit_ids: list[int], *, keep_route_ids=()) -> None:
    """Take visits off any stored route; a route left without stops is deleted."""
    if not visit_ids:
        return
    session.flush()
    touched = list(session.scalars(sa.delete(RouteStop).where(
        RouteStop.visit_id.in_(visit_ids), RouteStop.route_id.not_in(list(keep_route_ids)))
        .returning(RouteStop.route_id), execution_options={"synchronize_session": False}))
    if not touched:
        return
    route_ids = sorted(set(touched))
    empty = list(session.scalars(sa.select(Route.id).where(
        Route.id.in_(route_ids), ~sa.exists().where(RouteStop.route_id == Route.id))))
    if empty:
        session.execute(sa.delete(Route).where(Route.id.in_(empty)),
                        execution_options={"synchronize_session": False})
    kept = [r for r in route_ids if r not in empty]
    if kept:  # the route changed under the phone: a new version tells it so
        session.execute(sa.update(Route).where(Route.id.in_(kept)).values(version=Route.version + 1),
                        execution_options={"synchronize_session": False})
    refresh_paths(session, kept)
    _forget_routes(session)


def _forget_routes(session: Session) -> None:
    """Expire loaded routes and stops after bulk SQL changed them (other objects keep their state)."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Route | RouteStop):
            session.expire(obj)


def lock_day(session: Session, plan_date: date) -> None:
    """One plan of a day is stored at a time."""
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(f"planning.store:{plan_date.isoformat()}", 0))))


def store_plan(session: Session, inputs: PlanInputs, result: PlanResult, *, actor_id: int | None,
               moves: dict[int, str] | None = None) -> dict:
    """Replace the planned collectors' routes of the day with result's, in the caller's transaction.

    `moves` says why a visit left its collector (routing.stability); the answer's `changes` lists,
    per collector, the visits added, removed and moved, and the route's new version.
    """
    lock_day(session, inputs.plan_date)
    # The planned collectors' days, then their visits (visits.days' lock order): an absence recorded
    # since the inputs were read is seen below; one recorded meanwhile waits and then releases the plan's.
    lock_collector_days(session, [(cid, inputs.plan_date) for cid in inputs.planned_collector_ids])
    # Then their rows, shared (visits.days' step 2½): a deactivation under way commits first and is read
    # here; one that comes later waits for this plan and then releases what it gave them.
    collectors = lock_collectors(session, inputs.planned_collector_ids)
    before = _day_holders(session, inputs.plan_date)
    old_versions = dict(session.execute(sa.select(Route.collector_id, Route.version).where(
        Route.collector_id.in_(inputs.planned_collector_ids), Route.plan_date == inputs.plan_date)).all())
    ids = sorted({t.id for t in inputs.tasks} | set(inputs.seen))
    # In id order, as every path that locks several visits does: two plans (or a plan and an absence)
    # sharing visits then wait for each other instead of deadlocking.
    visits = {v.id: v for v in session.scalars(sa.select(Visit).where(Visit.id.in_(ids)).order_by(Visit.id)
                                               .with_for_update().execution_options(populate_existing=True))}
    fixed_ids = {v for c in inputs.collectors for v in c.fixed_visit_ids}
    reasons = {vid: why for vid, why in inputs.unplannable if vid not in fixed_ids}
    reasons.update((vid, why) for vid, why in result.unassigned if vid not in fixed_ids)
    changed = {vid for vid, seen in inputs.seen.items()
               if vid not in visits or visits[vid].updated_at != seen or visits[vid].status not in PLANNABLE}
    reasons.update((vid, "changed_during_planning") for vid in sorted(changed))
    # Collectors gone since the inputs were read (absent that day, or deactivated): every open stop the
    # plan gives them says so, before "changed" (their own visits changed because they were released).
    absent = absent_collector_ids(session, inputs.plan_date) & set(inputs.planned_collector_ids)
    away = {cid: "absent" for cid in sorted(absent)}
    away.update((cid, "inactive") for cid, user in collectors.items() if not user.active)
    dropped = {s.task_id: f"collector_{away[r.collector_id]}" for r in result.routes if r.collector_id in away
               for s in r.stops if s.task_id not in fixed_ids}
    reasons.update(sorted(dropped.items()))
    changed |= set(dropped)  # held back as a changed visit is: left where it is, on no new route
    unassigned = list(reasons.items())
    before_orders: dict[int, list[int]] = {}
    for vid, (cid, _) in sorted(before.items(), key=lambda kv: kv[1][1]):
        before_orders.setdefault(cid, []).append(vid)
    session.execute(sa.delete(Route).where(Route.collector_id.in_(inputs.planned_collector_ids),
                                           Route.plan_date == inputs.plan_date),
                    execution_options={"synchronize_session": False})
    routed = [s.task_id for r in result.routes for s in r.stops if s.task_id not in changed]
    remove_visits_from_routes(session, routed)
    route_ids = []
    planned_holders: dict[int, int] = {}  # visit id -> collector id of the open stops stored below
    for planned in result.routes:
        stops = [s for s in planned.stops if s.task_id not in changed]
        if not stops:
            continue
        # A new version only when the open stops changed: visits made since lead the route, not a change.
        old = [vid for vid in before_orders.get(planned.collector_id, ()) if vid not in fixed_ids]
        new_order = [s.task_id for s in stops if s.task_id not in fixed_ids]
        cid = planned.collector_id
        version = old_versions[cid] + (old != new_order) if cid in old_versions else 1
        route = Route(collector_id=planned.collector_id, plan_date=inputs.plan_date, solver=result.solver_name,
                      # Totals from the first stop: the leg from home or lodging is the collector's alone.
                      distance_m=planned.shared_distance_m, duration_s=planned.shared_duration_s,
                      planned_by_id=actor_id, version=version)
        route.stops = [RouteStop(visit_id=s.task_id, sequence=k, eta=inputs.at(s.arrival_s),
                                 departure=inputs.at(s.departure_s), location=make_point(s.lat, s.lon),
                                 shared_eta=_at(inputs, s.shared_arrival_s),
                                 shared_departure=_at(inputs, s.shared_departure_s),
                                 fixed=s.task_id in fixed_ids) for k, s in enumerate(stops, start=1)]
        session.add(route)
        session.flush()
        route_ids.append(route.id)
        planned_holders.update((s.task_id, planned.collector_id) for s in stops if s.task_id not in fixed_ids)
        assign_planned([visits[s.task_id] for s in stops], planned.collector_id, inputs.plan_date)
    refresh_paths(session, route_ids)
    # Visits of a collector no longer working (in the pool, not planned) go back too.
    released_from = {v.collector_id for v in visits.values()} - set(inputs.planned_collector_ids)
    inactive = set(session.scalars(sa.select(User.id).where(User.id.in_(released_from), User.active.is_(False))))
    orphaned = [vid for vid, _ in unassigned if vid in visits and visits[vid].collector_id in inactive]
    return_to_pool([visits[vid] for vid, _ in unassigned if vid in visits],
                   set(inputs.planned_collector_ids) | inactive, inputs.plan_date)
    remove_visits_from_routes(session, orphaned)
    record_audit(session, actor_id=actor_id, action="routes.plan", subject_type="plan",
                 subject_id=inputs.plan_date.isoformat(), routes=len(route_ids), unassigned=len(unassigned),
                 collectors=inputs.planned_collector_ids)
    session.flush()
    _forget_routes(session)
    # The day's holders now, from what was written: the planned collectors' routes replaced, routed
    # and orphaned visits taken off any other route; a visit made since the last plan stays its maker's.
    gone, replaced = set(routed) | set(orphaned), set(inputs.planned_collector_ids)
    after = {vid: cid for vid, (cid, _) in before.items()
             if vid in fixed_ids or (cid not in replaced and vid not in gone)}
    after.update(planned_holders)
    changes = change_summary(session, inputs, before, after, dict(unassigned), moves or {})
    notify_route_changes(session, inputs.plan_date, changes, {holder for holder, _ in before.values()})
    return {"date": inputs.plan_date.isoformat(), "solver": result.solver_name,
            "routes": routes_view(session, route_ids), "changes": changes,
            "unassigned": [{"visit_id": vid, "reason": why} for vid, why in unassigned],
            "skipped_collectors": [{"collector_id": cid, "reason": why}
                                   for cid, why in [*inputs.skipped_collectors, *away.items()]]}


def _at(inputs: PlanInputs, seconds: int | None):
    return None if seconds is None else inputs.at(seconds)


def _day_holders(session: Session, plan_date: date) -> dict[int, tuple[int, tuple[int, int]]]:
    """Visit id -> (collector id, (route id, sequence)) for every open stop stored for the day."""
    rows = session.execute(sa.select(RouteStop.visit_id, Route.collector_id, Route.id, RouteStop.sequence)
                           .join(Route, Route.id == RouteStop.route_id)
                           .where(Route.plan_date == plan_date, RouteStop.fixed.is_(False)))
    return {vid: (cid, (rid, seq)) for vid, cid, rid, seq in rows}


def change_summary(session: Session, inputs: PlanInputs, before: dict, after: dict[int, int],
                   reasons: dict[int, str], moves: dict[int, str]) -> list[dict]:
    """Per collector touched by the plan: visits added, removed and moved (with why), and the version.

    `before` is _day_holders before the plan, `after` visit id -> collector id once it is stored.
    """
    considered = {t.id for t in inputs.tasks} | set(inputs.seen) | set(reasons)
    per: dict[int, dict] = {}

    def entry(cid: int) -> dict:
        return per.setdefault(cid, {"collector_id": cid, "added": [], "removed": [], "moved": []})

    for vid in sorted(set(before) | set(after)):
        was, now = before[vid][0] if vid in before else None, after.get(vid)
        if was == now:
            continue
        if was is None:
            entry(now)["added"].append({"visit_id": vid, "reason": moves.get(vid, "newly_planned")})
        elif now is None:
            if vid in considered:
                entry(was)["removed"].append({"visit_id": vid, "reason": reasons.get(vid, "not_planned")})
        else:
            move = {"visit_id": vid, "from_collector_id": was, "to_collector_id": now,
                    "reason": moves.get(vid, "re_planned")}
            entry(was)["moved"].append(move)
            entry(now)["moved"].append(move)
    versions = dict(session.execute(sa.select(Route.collector_id, Route.version).where(
        Route.plan_date == inputs.plan_date, Route.collector_id.in_(list(per)))).all())
    return [{**per[cid], "version": versions.get(cid)} for cid in sorted(per)]


def _lat_lon(column):
    geometry = sa.func.geometry(column)
    return sa.func.ST_Y(geometry), sa.func.ST_X(geometry)


def routes_view(session: Session, route_ids: list[int], *, viewer_id: int | None = None) -> list[dict]:
    """Routes as the API shows them: ordered stops (each with its visit's pin), ETAs, distance, duration
    (never the start point).
    Totals start at the first stop; the ETAs are the collector's own only on their own route, everyone
    else sees the day walked from the first stop."""
    if not route_ids:
        return []
    routes = {r.id: r for r in session.scalars(sa.select(Route).where(Route.id.in_(route_ids)))}
    stops: dict[int, list[dict]] = {rid: [] for rid in routes}
    rows = session.execute(sa.select(RouteStop, VisitPin, *_lat_lon(RouteStop.location))
                           .outerjoin(VisitPin, VisitPin.visit_id == RouteStop.visit_id)
                           .where(RouteStop.route_id.in_(route_ids)).order_by(RouteStop.route_id, RouteStop.sequence))
    for stop, pin, lat, lon in rows:
        own = viewer_id is not None and routes[stop.route_id].collector_id == viewer_id
        stops[stop.route_id].append({"sequence": stop.sequence, "visit_id": stop.visit_id,
                                     "eta": stop.eta if own else stop.shared_eta,
                                     "departure": stop.departure if own else stop.shared_departure,
                                     "lat": lat, "lon": lon, "fixed": stop.fixed, "pin": pin_view(pin)})
    return [{"id": r.id, "collector_id": r.collector_id, "date": r.plan_date, "solver": r.solver,
             "stops": stops[r.id], "distance_m": r.distance_m, "duration_s": r.duration_s,
             "created_at": r.created_at, "version": r.version} for r in (routes[rid] for rid in route_ids if rid in routes)]
