"""The greedy baseline: what a dispatcher does by hand, to measure the planner against.

Each collector in turn, from their start, repeatedly takes the visit with the best
priority / (1 + minutes until service could start), among visits they may take and can still fit
before going home; mandatory visits first. Same constraints, same result shape as `plan()`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.routing.matrix import build_matrices
from backend.routing.prepare import finish, prepare
from backend.routing.schedule import Collector, PlanResult, VisitTask, can_serve, walk

SOLVER_NAME = "greedy"
NEVER = np.iinfo(np.int64).max // 4


def plan_greedy(collectors: Sequence[Collector], tasks: Sequence[VisitTask], *, detour_factor: float,
                speed_mps: float, matrices: tuple[np.ndarray, np.ndarray] | None = None) -> PlanResult:
    """Plan the day greedily, collector by collector."""
    if matrices is None:
        points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
        matrices = build_matrices(points, detour_factor=detour_factor, speed_mps=speed_mps)
    dist, dur = matrices
    reasons, windows, prefixes = prepare(collectors, tasks, dist, dur)
    seqs = greedy_sequences(collectors, tasks, dist, dur, reasons, windows, prefixes)
    return finish(collectors, tasks, dist, dur, seqs, reasons, SOLVER_NAME)


def greedy_sequences(collectors: Sequence[Collector], tasks: Sequence[VisitTask], dist: np.ndarray,
                     dur: np.ndarray, reasons: dict[int, str], windows: Sequence,
                     prefixes: dict[int, list[int]]) -> dict[int, list[int]]:
    """Return task indices per collector index, fixed prefixes included."""
    open_ = np.ones(len(tasks), dtype=bool)
    open_[list(set(reasons).union(*prefixes.values()))] = False
    lo, hi = _padded_windows(windows)
    arrays = (np.array([t.service_s for t in tasks], dtype=np.int64),
              np.array([t.demand for t in tasks], dtype=np.int64),
              np.array([t.priority * (1e6 if t.mandatory else 1.0) for t in tasks]))
    masks: dict[tuple, np.ndarray] = {}
    seqs = {}
    for i, c in enumerate(collectors):
        key = (c.skills, c.team_size)
        if key not in masks:
            masks[key] = np.array([can_serve(c, t) for t in tasks], dtype=bool)
        seqs[i] = _greedy_route(i, c, tasks, dist, dur, prefixes.get(i, []), open_ & masks[key],
                                lo, hi, arrays)
        open_[seqs[i]] = False
    return seqs


def _padded_windows(windows: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """Return (opens, closes) arrays of shape (tasks, most windows); padding never fits."""
    k = max((len(w) for w in windows), default=0) or 1
    lo = np.full((len(windows), k), NEVER, dtype=np.int64)
    hi = np.full((len(windows), k), -1, dtype=np.int64)
    for j, ws in enumerate(windows):
        for m, (a, b) in enumerate(ws):
            lo[j, m], hi[j, m] = a, b
    return lo, hi


def _greedy_route(i: int, c: Collector, tasks: Sequence[VisitTask], dist: np.ndarray, dur: np.ndarray,
                  prefix: list[int], allowed: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[int]:
    """Grow one collector's route from its fixed prefix over the `allowed` tasks."""
    n_c = len(dist) - len(tasks)
    service, demand, weight = arrays
    allowed = allowed.copy()
    seq = list(prefix)
    here, now = i, c.shift_start_s
    if seq:
        here, now = n_c + seq[-1], walk(i, c, seq, tasks, dist, dur).starts[-1] + tasks[seq[-1]].service_s
    room = c.max_visits - sum(tasks[j].demand for j in seq)
    while room > 0:
        cand = np.flatnonzero(allowed & (demand <= room))
        if not len(cand):
            break
        arrive = now + dur[here, n_c + cand]
        start = np.where(arrive[:, None] <= hi[cand], np.maximum(arrive[:, None], lo[cand]), NEVER).min(1)
        fits = (start < NEVER) & (start + service[cand] + dur[n_c + cand, i] <= c.shift_end_s)
        if not fits.any():
            break
        # Minutes until service can start, waiting included: the nearest most-urgent visit wins.
        score = np.where(fits, weight[cand] / (1.0 + (start - now) / 60.0), -1.0)
        k = int(np.argmax(score))
        j = int(cand[k])
        seq.append(j)
        allowed[j] = False
        room -= tasks[j].demand
        here, now = n_c + j, int(start[k]) + tasks[j].service_s
    return seq
