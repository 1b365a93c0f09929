"""Plan collectors' days with PyVRP: which visits to make, by whom, in what order.

One entry point, `plan()`, takes plain dataclasses and returns plain dataclasses, so another solver
could stand behind it. How the day maps onto PyVRP 0.14:

- a collector is a vehicle type (identical collectors share one) starting and ending at their
  start point, shift as its time window, `max_visits` as capacity (each visit has demand 1);
- a visit is an optional client whose prize grows with priority (prize-collecting: with more
  visits than capacity the solver picks the valuable ones), or a required one when mandatory;
  the prize has a flat part larger than any detour, so free capacity is always used;
- a visit with several windows becomes one client per window in a client group, of which at
  most one is served (required group when mandatory) — PyVRP's native multiple-window model;
- skills and two-person crews are extra load dimensions: a visit needing skill S (or a crew of
  two) loads one unit of dimension S, and only collectors with S have room in it. Routing
  profiles (every edge into a forbidden visit made huge) would do the same, but each profile
  costs two full matrices and one neighbourhood pass: 7 profiles took 16 s at 5,100 points;
- fixed visits (done or under way in a re-plan) are history: they open their collector's route
  in the given order and the solver plans the rest of the day from the last one.

Every returned route is re-walked and checked; a stop that breaks a constraint is dropped to
`unassigned` rather than returned.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pyvrp import Client, ClientGroup, Depot, Location, ProblemData, Solution, VehicleType, solve
from pyvrp import Route as PyvrpRoute
from pyvrp.solve import SolveParams

from backend.routing.baseline import greedy_sequences
from backend.routing.matrix import build_matrices
from backend.routing.prepare import PRIZE_M, finish, prepare, prizes_of
from backend.routing.schedule import Collector, PlanResult, Route, Stop, VisitTask, validate, walk
from backend.routing.stability import Replan, Standing, replan

__all__ = ["Collector", "PlanResult", "Replan", "Route", "Standing", "Stop", "VisitTask", "plan", "plan_stable",
           "validate"]

SOLVER_NAME = "pyvrp-0.14"
SOLVE_PARAMS = SolveParams()

Matrices = tuple[np.ndarray, np.ndarray]


@dataclass
class BuiltModel:
    data: ProblemData
    client_task: list[int]  # PyVRP client index -> task index
    type_collectors: list[list[int]]  # vehicle type -> collector indices sharing it


def plan(collectors: Sequence[Collector], tasks: Sequence[VisitTask], *, time_limit_s: float,
         detour_factor: float, speed_mps: float, seed: int = 0,
         progress: Callable[[float], None] | None = None,
         matrices: Matrices | None = None, prize_m: float = PRIZE_M) -> PlanResult:
    """Choose and route the day's visits; `progress` gets the share of the time budget used.

    `prize_m` (a policy setting) is how many metres of extra driving it is worth to take a visit
    whose priority is higher by the day's mean priority; see prepare.prizes_of().
    """
    if matrices is None:
        points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
        matrices = build_matrices(points, detour_factor=detour_factor, speed_mps=speed_mps)
    dist, dur = matrices
    reasons, windows, prefixes = prepare(collectors, tasks, dist, dur)
    skip = set(reasons).union(*prefixes.values())
    model = build_model(collectors, tasks, dist, dur, windows=windows, prefixes=prefixes, skip=skip,
                        prize_m=prize_m)
    seqs = {i: list(p) for i, p in prefixes.items()}
    if model.client_task and model.type_collectors:
        # PyVRP's own start (a random solution, then local search) is poor with 5,000 optional
        # visits: from the greedy plan, 20 s of search reached 0.75 km/visit instead of 1.18.
        greedy = greedy_sequences(collectors, tasks, dist, dur, reasons, windows, prefixes)
        initial = warm_start(model, greedy, prefixes, collectors, tasks, dist, dur)
        best = solve_model(model.data, time_limit_s, seed=seed, progress=progress, initial=initial)
        for i, extra in routes_of(model, best).items():
            seqs[i] = seqs[i] + extra
    return finish(collectors, tasks, dist, dur, seqs, reasons, SOLVER_NAME, prize_m)


def build_model(collectors: Sequence[Collector], tasks: Sequence[VisitTask], dist: np.ndarray,
                dur: np.ndarray, *, windows: Sequence[Sequence[tuple[int, int]]] | None = None,
                prefixes: dict[int, list[int]] | None = None, skip: set[int] = frozenset(),
                prize_m: float = PRIZE_M) -> BuiltModel:
    """Translate collectors and tasks (minus `skip`) into PyVRP ProblemData."""
    n_c = len(collectors)
    windows = windows if windows is not None else [t.windows for t in tasks]
    prefixes = prefixes or {}
    points = [(c.lon, c.lat) for c in collectors] + [(t.lon, t.lat) for t in tasks]
    locations = [Location(x=x, y=y) for x, y in points]
    first_at: dict[tuple, int] = {}
    home = [first_at.setdefault(points[i], i) for i in range(n_c)]  # shared start points

    dims = _dimensions(tasks, skip)
    clients, groups, client_task = _clients(tasks, windows, skip, n_c, prize_m, dims)

    depots: dict[int, int] = {}
    types: dict[tuple, list[int]] = {}
    for i, c in enumerate(collectors):
        start, ready, used = home[i], c.shift_start_s, 0
        if prefixes.get(i):
            w = walk(i, c, prefixes[i], tasks, dist, dur)
            start = n_c + prefixes[i][-1]
            ready = w.starts[-1] + tasks[prefixes[i][-1]].service_s
            used = sum(tasks[j].demand for j in prefixes[i])
        if c.max_visits - used <= 0 or ready >= c.shift_end_s:
            continue
        room = c.max_visits - used
        capacity = tuple(room if _has(c, dim) else 0 for dim in dims)
        key = (depots.setdefault(start, len(depots)), depots.setdefault(home[i], len(depots)),
               ready, c.shift_end_s, capacity)
        types.setdefault(key, []).append(i)

    vehicle_types = [VehicleType(num_available=len(members), capacity=list(cap), start_depot=s,
                                 end_depot=e, tw_early=early, tw_late=late)
                     for (s, e, early, late, cap), members in types.items()]
    depot_list = [Depot(location=loc) for loc in depots]
    data = ProblemData(locations, clients, depot_list or [Depot(location=0)],
                       vehicle_types or [VehicleType(capacity=[0] * len(dims))], [dist], [dur], groups)
    return BuiltModel(data, client_task, list(types.values()))


def _dimensions(tasks: Sequence[VisitTask], skip: set[int]) -> list[str | int | None]:
    """Return load dimensions: None = visits, a str = a skill, an int m = a crew of m or more."""
    live = [t for j, t in enumerate(tasks) if j not in skip]
    skills = sorted({s for t in live for s in t.required_skills})
    crews = sorted({t.min_team for t in live if t.min_team > 1})
    return [None, *skills, *crews]


def _has(c: Collector, dim: str | int | None) -> bool:
    """Return whether the collector may carry load in this dimension."""
    if dim is None:
        return True
    return dim in c.skills if isinstance(dim, str) else c.team_size >= dim


def _needs(t: VisitTask, dim: str | int | None) -> bool:
    """Return whether the task loads this dimension."""
    if dim is None:
        return True
    return dim in t.required_skills if isinstance(dim, str) else t.min_team >= dim


def _clients(tasks: Sequence[VisitTask], windows: Sequence, skip: set[int], n_c: int,
             prize_m: float, dims: Sequence) -> tuple[list[Client], list[ClientGroup], list[int]]:
    """Return PyVRP clients (one per reachable window), their groups, and client -> task index."""
    prizes = prizes_of(tasks, prize_m)
    clients: list[Client] = []
    groups: list[ClientGroup] = []
    client_task: list[int] = []
    for j in (j for j in range(len(tasks)) if j not in skip and windows[j]):
        t, prize = tasks[j], prizes[j]
        several = len(windows[j]) > 1
        if several:
            groups.append(ClientGroup(required=t.mandatory))
        for lo, hi in windows[j]:
            if several:
                groups[-1].add_client(len(clients))
            delivery = [t.demand if _needs(t, dim) else 0 for dim in dims]
            clients.append(Client(location=n_c + j, delivery=delivery, service_duration=t.service_s,
                                  tw_early=lo, tw_late=hi, prize=prize,
                                  required=t.mandatory and not several,
                                  group=len(groups) - 1 if several else None))
            client_task.append(j)
    return clients, groups, client_task


class _Deadline:
    """MaxRuntime that also reports the share of the budget used, about once a second."""

    def __init__(self, limit_s: float, progress: Callable[[float], None] | None):
        self.limit_s, self.progress = limit_s, progress
        self.start: float | None = None
        self.last = 0.0

    def __call__(self, best_cost: int) -> bool:
        now = time.perf_counter()
        self.start = self.start or now
        if self.progress and now - self.last >= 1.0:
            self.last = now
            self.progress(min(1.0, (now - self.start) / self.limit_s))
        return now - self.start > self.limit_s


def solve_model(data: ProblemData, time_limit_s: float, *, seed: int = 0,
                progress: Callable[[float], None] | None = None,
                initial: Solution | None = None) -> Solution:
    """Run PyVRP on the data with our parameters; return the best solution found."""
    result = solve(data, _Deadline(time_limit_s, progress), seed=seed, collect_stats=False,
                   display=False, params=SOLVE_PARAMS, initial_solution=initial)
    return result.best


def warm_start(model: BuiltModel, seqs: dict[int, list[int]], prefixes: dict[int, list[int]],
               collectors: Sequence[Collector], tasks: Sequence[VisitTask], dist: np.ndarray,
               dur: np.ndarray) -> Solution:
    """Turn per-collector task sequences (prefix included) into a PyVRP solution.

    Each visit maps to the client of the window it is served in; a visit served in no modelled
    window is left out, so the start stays feasible.
    """
    clients_of: dict[int, list[int]] = {}
    for ci, j in enumerate(model.client_task):
        clients_of.setdefault(j, []).append(ci)
    clients = model.data.clients()
    routes = []
    for vt, members in enumerate(model.type_collectors):
        for i in members:
            seq = seqs.get(i, [])
            w = walk(i, collectors[i], seq, tasks, dist, dur)
            skip = len(prefixes.get(i, []))
            picked = [_window_client(clients_of.get(j, []), clients, s)
                      for j, s in zip(seq[skip:], w.starts[skip:], strict=True)]
            visits = [ci for ci in picked if ci is not None]
            if visits:
                routes.append(PyvrpRoute(model.data, visits, vt))
    return Solution(model.data, routes)


def _window_client(options: list[int], clients: list[Client], start: int) -> int | None:
    """Return the client among `options` whose window holds the service start, or None."""
    return next((ci for ci in options if clients[ci].tw_early <= start <= clients[ci].tw_late), None)


def routes_of(model: BuiltModel, best: Solution) -> dict[int, list[int]]:
    """Map a PyVRP solution back to task indices per collector index."""
    free = [list(members) for members in model.type_collectors]
    out: dict[int, list[int]] = {}
    for route in best.routes():
        i = free[route.vehicle_type()].pop(0)
        out[i] = [model.client_task[a.idx] for a in route.schedule() if a.is_client()]
    return out




def plan_stable(collectors: Sequence[Collector], tasks: Sequence[VisitTask], standing: Standing, *,
                time_limit_s: float, move_cost_m: float, detour_factor: float, speed_mps: float,
                seed: int = 0, matrices: Matrices | None = None, prize_m: float = PRIZE_M) -> Replan:
    """Re-plan a day with standing routes: see backend.routing.stability; PyVRP orders each changed day."""
    if matrices is None:
        points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
        matrices = build_matrices(points, detour_factor=detour_factor, speed_mps=speed_mps)

    def sequence(collector: Collector, sub_tasks: list[VisitTask], sub: Matrices, limit_s: float) -> PlanResult:
        return plan([collector], sub_tasks, time_limit_s=limit_s, detour_factor=detour_factor,
                    speed_mps=speed_mps, seed=seed, matrices=sub, prize_m=prize_m)

    out = replan(collectors, tasks, standing, matrices=matrices, time_limit_s=time_limit_s,
                 move_cost_m=move_cost_m, prize_m=prize_m, seed=seed, sequence=sequence)
    out.result.solver_name = SOLVER_NAME + "+stable"
    return out
