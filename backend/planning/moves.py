"""Move one planned stop to another collector's route of the same day, re-timing both routes.

The dispatcher drags a stop on the map; the move is checked with the same rules a plan is
(`routing.schedule.route_problems`: windows in lawful hours, shift end, capacity, skills, crew), and
a move that breaks one is refused with the reason. A pinned visit moves only to its pinned collector
(a dispatcher unpins it first to send it elsewhere). The stop goes where it adds the least travel
among the positions that break no rule (routing.stability.cheapest_insertion, every position tried);
the other stops keep their order.
"""
from __future__ import annotations

from typing import NoReturn

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.errors import DomainError, NotFound
from backend.geo import make_point
from backend.planning.inputs import PlanInputs, load_plan_inputs, routing_settings
from backend.planning.models import Route, RouteStop
from backend.planning.store import _forget_routes, lock_day, refresh_paths, routes_view
from backend.routing.matrix import build_matrices
from backend.routing.schedule import Collector, VisitTask, route_problems, shared_times, walk
from backend.routing.stability import cheapest_insertion
from backend.visits.days import lock_collector_days
from backend.visits.models import Visit, VisitPin
from backend.visits.service import assign_planned, assignable_collector

# route_problems' words → the code the API answers with.
_REASONS = (("window missed", "window_missed"), ("shift exceeded", "shift_exceeded"),
            ("capacity exceeded", "capacity_exceeded"), ("skill mismatch", "skill_mismatch"),
            ("team mismatch", "crew_required"))


class MoveRefused(DomainError):
    def __init__(self, reason: str, message: str, **extra):
        super().__init__("move_refused", message, extra={"reason": reason, **extra})


def _reason_code(problems: list[str]) -> str:
    for words, code in _REASONS:
        if any(words in p for p in problems):
            return code
    return "rule_broken"


def move_stop(session: Session, *, route_id: int, visit_id: int, collector_id: int, actor_id: int) -> dict:
    """Move visit `visit_id` off route `route_id` onto `collector_id`'s route of that day (created if
    none); re-time both routes; raise MoveRefused (409) when the move would break a rule."""
    route = session.get(Route, route_id)
    if route is None:
        raise NotFound("route", route_id)
    lock_day(session, route.plan_date)
    session.refresh(route)
    stop = next((s for s in route.stops if s.visit_id == visit_id), None)
    if stop is None:
        raise NotFound("stop", visit_id)
    if stop.fixed:
        raise MoveRefused("stop_fixed", f"visit {visit_id} is done or under way; it stays on its route")
    if collector_id == route.collector_id:
        raise MoveRefused("same_collector", f"visit {visit_id} is already on collector {collector_id}'s route")
    # The target's day before the visit's row (visits.days' lock order): its absences are read below.
    lock_collector_days(session, [(collector_id, route.plan_date)])
    # Then the target itself (404 / 422 naming collector_id, as assign and pin answer, before the rules' 409s),
    # its row read shared (step 2½): a deactivation under way commits first and is refused here; one that
    # comes later waits for this move and then releases the visit.
    assignable_collector(session, collector_id, lock=True)
    visit = session.get(Visit, visit_id, with_for_update=True)  # a pin set meanwhile waits for the move
    _check_pin(session, visit_id, collector_id)
    day = route.plan_date
    target = session.query(Route).filter_by(collector_id=collector_id, plan_date=day).one_or_none()
    collector_ids = [route.collector_id, collector_id]
    inputs = load_plan_inputs(session, plan_date=day, collector_ids=collector_ids, visit_ids=[visit_id],
                              actor_id=actor_id)  # 422 when the route's own collector left meanwhile
    collectors = {c.id: c for c in inputs.collectors}
    if collector_id not in collectors:
        raise MoveRefused("no_start_location", f"collector {collector_id} has no start location for {day}")
    if route.collector_id not in collectors:
        raise MoveRefused("no_start_location", f"collector {route.collector_id} has no start location for {day}")
    t_index = {t.id: j for j, t in enumerate(inputs.tasks)}
    if visit_id not in t_index:
        why = dict(inputs.unplannable).get(visit_id, "not_plannable")
        raise MoveRefused(why, f"visit {visit_id} cannot be planned on {day}: {why}")
    source_seq = _sequence(route, t_index, exclude=visit_id)
    target_seq = _sequence(target, t_index) if target is not None else []
    order = [collectors[route.collector_id], collectors[collector_id]]
    settings = routing_settings()
    points = [(c.lat, c.lon) for c in order] + [(t.lat, t.lon) for t in inputs.tasks]
    dist, dur = build_matrices(points, detour_factor=settings["detour_factor"], speed_mps=settings["speed_mps"],
                               osrm_url=current_app.config.get("OSRM_URL"), cache={})
    j = t_index[visit_id]
    fixed_count = sum(1 for t in target_seq if inputs.tasks[t].id in order[1].fixed_visit_ids)
    prefix, movable = target_seq[:fixed_count], target_seq[fixed_count:]
    # Every position is tried: one stop a dispatcher moves may fit only where it costs more.
    found = cheapest_insertion(1, order[1], prefix, movable, j, inputs.tasks, dist, dur, positions=None)
    if found is None:
        _refuse_misfit(visit_id, collector_id, order[1], prefix + [j] + movable, inputs.tasks, dist, dur)
    target_seq = prefix + found[1]
    target_walk = walk(1, order[1], target_seq, inputs.tasks, dist, dur)
    source_walk = walk(0, order[0], source_seq, inputs.tasks, dist, dur)
    kept = [route.id]
    if source_seq:
        _store(session, route, order[0], source_seq, source_walk, inputs, dist, dur)
    else:
        session.execute(sa.delete(Route).where(Route.id == route.id), execution_options={"synchronize_session": False})
        session.expunge(route)
        kept = []
    changed = kept + ([target.id] if target is not None else [])  # routes a phone may hold: new versions
    if target is None:
        target = Route(collector_id=collector_id, plan_date=day, solver=route.solver, distance_m=0, duration_s=0,
                       planned_by_id=actor_id)
        session.add(target)
    session.flush()
    _store(session, target, order[1], target_seq, target_walk, inputs, dist, dur)
    session.flush()
    assign_planned([visit], collector_id, day)
    refresh_paths(session, kept + [target.id])
    if changed:
        session.execute(sa.update(Route).where(Route.id.in_(changed)).values(version=Route.version + 1),
                        execution_options={"synchronize_session": False})
    record_audit(session, actor_id=actor_id, action="routes.move_stop", subject_type="visit", subject_id=visit_id,
                 from_route=route_id, from_collector=order[0].id, to_route=target.id, to_collector=collector_id,
                 date=day.isoformat())
    session.flush()
    _forget_routes(session)
    return {"visit_id": visit_id, "routes": routes_view(session, kept + [target.id]),
            "removed_route_ids": [] if kept else [route_id]}


def _check_pin(session: Session, visit_id: int, collector_id: int) -> None:
    """Refuse (409) to move a pinned visit away from its pinned collector: every plan would put it back,
    and the pin is a dispatcher's decision another dispatcher's drag should not undo unseen."""
    pin = session.get(VisitPin, visit_id)
    if pin is not None and pin.collector_id != collector_id:
        raise MoveRefused("pinned", f"visit {visit_id} is pinned to collector {pin.collector_id}: move it to that "
                          f"collector, or unpin it first (DELETE /visits/{visit_id}/pin)",
                          pinned_collector_id=pin.collector_id)


def _refuse_misfit(visit_id: int, collector_id: int, collector: Collector, seq: list[int], tasks, dist,
                   dur) -> NoReturn:
    """Raise MoveRefused naming what the stop breaks on the target's day (at its first open position:
    when no position fits, every one breaks a rule)."""
    problems = route_problems(collector, seq, tasks, walk(1, collector, seq, tasks, dist, dur)) or ["no position fits"]
    raise MoveRefused(_reason_code(problems),
                      f"visit {visit_id} does not fit collector {collector_id}'s day: {problems[0]}", problems=problems)


def _sequence(route: Route, t_index: dict[int, int], exclude: int | None = None) -> list[int]:
    """The route's stops as task indices in their order; a stop that can no longer be planned
    (its day's lawful hours passed, it was cancelled) makes the move a re-plan's job."""
    seq = []
    for s in sorted(route.stops, key=lambda s: s.sequence):
        if s.visit_id == exclude:
            continue
        if s.visit_id not in t_index:
            raise MoveRefused("route_changed", f"visit {s.visit_id} on route {route.id} can no longer be planned "
                              "as it stands; plan the day again")
        seq.append(t_index[s.visit_id])
    return seq


def _store(session: Session, route: Route, collector: Collector, seq: list[int], w, inputs: PlanInputs,
           dist, dur) -> None:
    """Replace the route's stops with `seq` timed by walk `w` (the collector's own times) and by the day
    walked from the first stop (what everyone else sees, totals included: routing.schedule.shared_times)."""
    tasks: list[VisitTask] = inputs.tasks
    shared_starts, shared_m, shared_s = shared_times(collector, seq, tasks, dist, dur)
    # Deleted first in SQL: new rows reuse the (route, sequence) pairs the old ones hold.
    session.execute(sa.delete(RouteStop).where(RouteStop.route_id == route.id),
                    execution_options={"synchronize_session": False})
    session.expire(route, ["stops"])
    for k, (j, start, shared) in enumerate(zip(seq, w.starts, shared_starts, strict=True), start=1):
        task = tasks[j]
        session.add(RouteStop(route_id=route.id, visit_id=task.id, sequence=k, eta=inputs.at(start),
                                     departure=inputs.at(start + task.service_s),
                                     shared_eta=inputs.at(shared), shared_departure=inputs.at(shared + task.service_s),
                                     location=make_point(task.lat, task.lon),
                                     fixed=task.id in collector.fixed_visit_ids))
    route.distance_m, route.duration_s = shared_m, shared_s
