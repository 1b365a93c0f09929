"""The planning vocabulary shared by the solver and the baseline: inputs, results, timing, checks.

Times are seconds since the plan day's local midnight. Matrices are (distance m, duration s) with
one row and column per collector start, in order, then one per task, in order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Collector:
    id: int
    lat: float
    lon: float
    shift_start_s: int
    shift_end_s: int
    max_visits: int
    skills: frozenset[str] = frozenset()
    team_size: int = 1  # 2+ = a crew travelling together
    fixed_visit_ids: tuple = ()  # done or in progress, in the order they were made


@dataclass
class VisitTask:
    id: int
    lat: float
    lon: float
    service_s: int
    windows: list[tuple[int, int]]  # allowed arrival (service start) intervals, inclusive
    priority: float  # > 0; higher = more urgent or valuable
    required_skills: frozenset[str] = frozenset()
    min_team: int = 1
    mandatory: bool = False
    demand: int = 1  # units of a collector's max_visits the visit uses


@dataclass
class Stop:
    task_id: int
    sequence: int
    arrival_s: int  # service start: the collector may get there earlier and wait
    departure_s: int
    lat: float
    lon: float
    # The same day as the office sees it: begun at the first stop (see shared_times), so no time
    # or distance carries the leg from the collector's home or lodging.
    shared_arrival_s: int | None = None
    shared_departure_s: int | None = None


@dataclass
class Route:
    collector_id: int
    stops: list[Stop]
    distance_m: int  # the whole tour, start point to start point (what the solver minimises)
    duration_s: int
    shared_distance_m: int = 0  # first stop to last stop: what anyone but the collector may see
    shared_duration_s: int = 0


@dataclass
class PlanResult:
    routes: list[Route]
    unassigned: list[tuple[int, str]]
    objective: float
    solver_name: str


@dataclass
class Walk:
    """A collector's day over an ordered list of task indices, leaving as early as allowed."""

    starts: list[int]  # service start per task; a missed window keeps the bare arrival
    missed: list[bool]
    end_s: int
    distance_m: int


def can_serve(collector: Collector, task: VisitTask) -> bool:
    """Return whether the collector has the skills and the crew the task needs."""
    return task.required_skills <= collector.skills and collector.team_size >= task.min_team


def service_start(arrive: int, windows: Sequence[tuple[int, int]]) -> int | None:
    """Return the earliest service start at or after `arrive` inside a window, or None."""
    best = None
    for lo, hi in windows:
        if arrive <= hi:
            start = max(arrive, lo)
            best = start if best is None else min(best, start)
    return best


def walk(c_idx: int, collector: Collector, seq: Sequence[int], tasks: Sequence[VisitTask],
         dist: np.ndarray, dur: np.ndarray) -> Walk:
    """Time a collector's day from shift start through tasks `seq` (task indices) and home."""
    n_c = dist.shape[0] - len(tasks)
    here, now, metres = c_idx, collector.shift_start_s, 0
    starts, missed = [], []
    for j in seq:
        there = n_c + j
        arrive = now + int(dur[here, there])
        start = service_start(arrive, tasks[j].windows)
        missed.append(start is None)
        starts.append(arrive if start is None else start)
        now = starts[-1] + tasks[j].service_s
        metres += int(dist[here, there])
        here = there
    end = now + int(dur[here, c_idx])
    return Walk(starts, missed, end, metres + int(dist[here, c_idx]))


def shared_times(collector: Collector, seq: Sequence[int], tasks: Sequence[VisitTask], dist: np.ndarray,
                 dur: np.ndarray) -> tuple[list[int], int, int]:
    """(service starts, metres, seconds) of the day walked from the first stop, reached at shift start
    (or its window's opening): built only from the stops, their windows and the shift, so neither the
    totals nor any ETA lets anyone but the collector work back to where the day really begins."""
    n_c = dist.shape[0] - len(tasks)
    here, now, metres, starts = None, collector.shift_start_s, 0, []
    for j in seq:
        there = n_c + j
        arrive = now if here is None else now + int(dur[here, there])
        if here is not None:
            metres += int(dist[here, there])
        start = service_start(arrive, tasks[j].windows)
        starts.append(arrive if start is None else start)
        now, here = starts[-1] + tasks[j].service_s, there
    return starts, metres, (now - starts[0]) if seq else 0


def make_route(c_idx: int, collector: Collector, seq: Sequence[int], tasks: Sequence[VisitTask],
               dist: np.ndarray, dur: np.ndarray) -> Route:
    """Build the Route a collector drives over task indices `seq`."""
    w = walk(c_idx, collector, seq, tasks, dist, dur)
    shared_starts, shared_m, shared_s = shared_times(collector, seq, tasks, dist, dur)
    stops = [Stop(tasks[j].id, k + 1, s, s + tasks[j].service_s, tasks[j].lat, tasks[j].lon,
                  shared, shared + tasks[j].service_s)
             for k, (j, s, shared) in enumerate(zip(seq, w.starts, shared_starts, strict=True))]
    return Route(collector.id, stops, w.distance_m, w.end_s - collector.shift_start_s if seq else 0,
                 shared_m, shared_s)


def route_problems(collector: Collector, seq: Sequence[int], tasks: Sequence[VisitTask],
                   w: Walk) -> list[str]:
    """Return what is wrong with a walked route: windows, shift end, capacity, skills, crew."""
    out = [f"task {tasks[j].id}: window missed" for j, m in zip(seq, w.missed, strict=True) if m]
    if seq and w.end_s > collector.shift_end_s:
        out.append(f"collector {collector.id}: shift exceeded by {w.end_s - collector.shift_end_s}s")
    load = sum(tasks[j].demand for j in seq)
    if load > collector.max_visits:
        out.append(f"collector {collector.id}: capacity exceeded ({load} > {collector.max_visits})")
    for j in seq:
        if not tasks[j].required_skills <= collector.skills:
            out.append(f"task {tasks[j].id}: skill mismatch on collector {collector.id}")
        if collector.team_size < tasks[j].min_team:
            out.append(f"task {tasks[j].id}: team mismatch on collector {collector.id}")
    return out


def validate(collectors: Sequence[Collector], tasks: Sequence[VisitTask], result: PlanResult,
             matrices: tuple[np.ndarray, np.ndarray]) -> list[str]:
    """Recompute every route of `result` and return its constraint violations (empty = sound)."""
    dist, dur = matrices
    c_index = {c.id: i for i, c in enumerate(collectors)}
    t_index = {t.id: j for j, t in enumerate(tasks)}
    fixed_on = {v: c.id for c in collectors for v in c.fixed_visit_ids}
    seen: set[int] = set()
    out: list[str] = []
    for route in result.routes:
        i = c_index.get(route.collector_id)
        if i is None:
            out.append(f"route for unknown collector {route.collector_id}")
            continue
        known = [s for s in route.stops if s.task_id in t_index]
        out += [f"unknown task {s.task_id}" for s in route.stops if s.task_id not in t_index]
        seq = [t_index[s.task_id] for s in known]
        w = walk(i, collectors[i], seq, tasks, dist, dur)
        out += route_problems(collectors[i], seq, tasks, w)
        out += _reported_time_problems(known, tasks, seq, w)
        for s in route.stops:
            if s.task_id in seen:
                out.append(f"task {s.task_id}: duplicate")
            seen.add(s.task_id)
            if fixed_on.get(s.task_id, route.collector_id) != route.collector_id:
                out.append(f"task {s.task_id}: fixed visit moved off collector {fixed_on[s.task_id]}")
    return out


def _reported_time_problems(stops: Sequence[Stop], tasks: Sequence[VisitTask], seq: Sequence[int],
                            w: Walk) -> list[str]:
    """Return stops whose reported times are outside every window or faster than driving allows."""
    out = []
    for s, j, earliest in zip(stops, seq, w.starts, strict=True):
        if not any(lo <= s.arrival_s <= hi for lo, hi in tasks[j].windows):
            out.append(f"task {s.task_id}: reported arrival outside its windows")
        elif s.arrival_s < earliest:
            out.append(f"task {s.task_id}: reported arrival earlier than reachable")
    return out

