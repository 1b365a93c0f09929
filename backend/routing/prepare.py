"""Before and after any solver: what cannot be planned and why, the fixed start of each route,
and the checked result. Shared by the PyVRP planner and the greedy baseline.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.routing.schedule import (
    Collector,
    PlanResult,
    Route,
    VisitTask,
    can_serve,
    make_route,
    route_problems,
    walk,
)

# A visit's prize, in metres of driving, is VISIT_PRIZE_M + PRIZE_M x priority / mean priority.
# The flat part outweighs any detour within a city, so a collector with room does not skip a
# reachable visit; it cancels out when two visits compete for one slot, where the priority part
# decides: a visit twice as urgent as the average is worth PRIZE_M more metres than an average
# one. Keep prizes well under PyVRP's top load penalty (100,000 per unit): above it, overloading
# a route pays and the search stalls in infeasible plans.
VISIT_PRIZE_M = 30_000
PRIZE_M = 2_000


def precheck(collectors: Sequence[Collector], tasks: Sequence[VisitTask], dur: np.ndarray
             ) -> tuple[dict[int, str], list[list[tuple[int, int]]]]:
    """Return (task index -> reason it is impossible, windows still reachable per task).

    A window is reachable when some collector able to serve the task could drive straight from
    home at shift start, serve it in that window and be home by shift end.
    """
    n_c = len(collectors)
    shift_start = np.array([c.shift_start_s for c in collectors], dtype=np.int64)
    shift_end = np.array([c.shift_end_s for c in collectors], dtype=np.int64)
    masks: dict[tuple, np.ndarray] = {}
    reasons: dict[int, str] = {}
    windows: list[list[tuple[int, int]]] = []
    for j, t in enumerate(tasks):
        key = (t.required_skills, t.min_team)
        if key not in masks:
            masks[key] = np.array([can_serve(c, t) for c in collectors], dtype=bool)
        ok = masks[key]
        out = shift_start + dur[:n_c, n_c + j]
        back = dur[n_c + j, :n_c] + t.service_s
        reachable = [(lo, hi) for lo, hi in t.windows
                     if np.any(ok & (np.maximum(out, lo) <= hi) & (np.maximum(out, lo) + back <= shift_end))]
        windows.append(reachable)
        if reachable:
            continue
        if not collectors:
            reasons[j] = "no_collector"
        elif not any(t.required_skills <= c.skills for c in collectors):
            reasons[j] = "no_collector_with_skills"
        elif not ok.any():
            reasons[j] = "needs_two_person_crew"
        elif not np.any(ok & (out + back <= shift_end)):
            reasons[j] = "too_far"
        else:
            reasons[j] = "outside_every_shift_window"
    return reasons, windows


def fixed_prefix(c_idx: int, collector: Collector, tasks: Sequence[VisitTask], t_index: dict,
                 dist: np.ndarray, dur: np.ndarray) -> tuple[list[int], list[int]]:
    """Return (kept, impossible) task indices of the collector's fixed visits, in their order.

    Fixed visits are history (done or under way), so they open the route as given; one whose
    window or the shift cannot hold it is reported instead of breaking the route.
    """
    kept = [t_index[v] for v in collector.fixed_visit_ids if v in t_index]
    dropped: list[int] = []
    while kept:
        w = walk(c_idx, collector, kept, tasks, dist, dur)
        bad = next((k for k, m in enumerate(w.missed) if m), None)
        load = sum(tasks[j].demand for j in kept)
        if bad is None and w.end_s <= collector.shift_end_s and load <= collector.max_visits:
            break
        dropped.append(kept.pop(len(kept) - 1 if bad is None else bad))
    return kept, dropped


def prepare(collectors: Sequence[Collector], tasks: Sequence[VisitTask], dist: np.ndarray,
            dur: np.ndarray) -> tuple[dict[int, str], list, dict[int, list[int]]]:
    """Return (reasons for impossible tasks, reachable windows, fixed prefix per collector)."""
    t_index = {t.id: j for j, t in enumerate(tasks)}
    reasons, windows = precheck(collectors, tasks, dur)
    prefixes: dict[int, list[int]] = {}
    for i, c in enumerate(collectors):
        kept, dropped = fixed_prefix(i, c, tasks, t_index, dist, dur)
        prefixes[i] = kept
        for j in kept:
            reasons.pop(j, None)
        for j in dropped:
            reasons[j] = "fixed_visit_infeasible"
    return reasons, windows, prefixes


def finish(collectors: Sequence[Collector], tasks: Sequence[VisitTask], dist: np.ndarray,
           dur: np.ndarray, seqs: dict[int, list[int]], reasons: dict[int, str],
           solver_name: str, prize_m: float = PRIZE_M) -> PlanResult:
    """Re-walk every route, drop stops that break a constraint, and report the rest."""
    fixed_ids = {v for c in collectors for v in c.fixed_visit_ids}
    fixed = {j for j, t in enumerate(tasks) if t.id in fixed_ids}
    routes: list[Route] = []
    served: set[int] = set()
    for i, c in enumerate(collectors):
        seq = _repair(i, c, seqs.get(i, []), tasks, dist, dur, fixed)
        served.update(seq)
        if seq:
            routes.append(make_route(i, c, seq, tasks, dist, dur))
    unassigned = [(t.id, reasons.get(j, "no_capacity")) for j, t in enumerate(tasks) if j not in served]
    cost = objective(tasks, routes, served, reasons, prize_m)
    return PlanResult(routes, unassigned, cost, solver_name)


def _repair(i: int, c: Collector, seq: list[int], tasks: Sequence[VisitTask], dist: np.ndarray,
            dur: np.ndarray, fixed: set[int]) -> list[int]:
    """Drop stops until the route breaks nothing: late stops first, then the day's last stops."""
    seq = [j for j in seq if can_serve(c, tasks[j]) or j in fixed]
    while seq:
        w = walk(i, c, seq, tasks, dist, dur)
        if not route_problems(c, seq, tasks, w):
            return seq
        movable = [k for k, j in enumerate(seq) if j not in fixed]
        if not movable:
            return seq  # fixed visits are history; fixed_prefix() already made them fit
        late = [k for k in movable if w.missed[k]]
        seq.pop(late[0] if late else movable[-1])
    return seq


def prizes_of(tasks: Sequence[VisitTask], prize_m: float = PRIZE_M) -> list[int]:
    """Return each task's prize in metres: a flat part plus `prize_m` x priority / mean priority."""
    mean = float(np.mean([t.priority for t in tasks])) if tasks else 1.0
    return [VISIT_PRIZE_M + round(prize_m * t.priority / mean) for t in tasks]


def objective(tasks: Sequence[VisitTask], routes: Sequence[Route], served: set[int],
              reasons: dict[int, str], prize_m: float = PRIZE_M) -> float:
    """Return the solver's objective: metres driven plus prizes of plannable visits left out."""
    prizes = prizes_of(tasks, prize_m)
    missed = sum(p for j, p in enumerate(prizes) if j not in served and j not in reasons)
    return float(sum(r.distance_m for r in routes) + missed)
