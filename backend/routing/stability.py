"""Re-plan a day that already has routes without reshuffling it.

A phone holds its collector's route; a re-plan that hands half of it to someone else (because
the solver found a plan 0.3 % shorter) costs calls, confusion and door reports for visits the
collector no longer holds. So a re-plan starts from the standing routes and changes them only
where it must or where it clearly pays:

- needed moves: a visit whose collector is not in this plan, a visit pinned to someone else,
  a visit its collector can no longer fit (the day moved on, the shift changed);
- paying moves: a visit moves from A to B only when the distance saved exceeds `move_cost_m`
  (the price of a move in the objective: distance + move_cost_m x moves);
- new and freed visits go where they add the least distance (prize-weighted, highest first),
  then every route whose set changed is re-sequenced by PyVRP with its visits required.

PyVRP 0.14 cannot restrict a client to one vehicle without a routing profile (two full matrices)
per collector, which at 100 collectors and 5,000 visits is gigabytes; the assignment decisions
are therefore made here, and PyVRP orders each changed collector's day.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from backend.routing.prepare import PRIZE_M, finish, prepare, prizes_of
from backend.routing.schedule import Collector, PlanResult, VisitTask, can_serve, route_problems, walk

# Nearest collectors tried for one insertion or move: farther ones never win in a city.
CANDIDATES = 6
# Positions tried per collector, cheapest first, before giving up on that collector.
POSITIONS = 4

# Solver time to order one collector's day of a dozen stops: it converges well within this.
RESEQUENCE_S = 0.3

# Why a visit left its standing collector.
COLLECTOR_NOT_IN_PLAN = "collector_not_in_plan"
PINNED = "pinned"
NO_LONGER_FITS = "no_longer_fits"
SAVES_DISTANCE = "saves_distance"
# Why a pinned visit is left out: its collector is not in this plan.
PINNED_ELSEWHERE = "pinned_to_collector_not_in_plan"


@dataclass
class Standing:
    """The day before this plan: each collector's open visits in route order, and the pins."""

    order: dict[int, list[int]] = field(default_factory=dict)  # collector id -> visit ids
    pins: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # visit id -> (collector id, position)


@dataclass
class Replan:
    result: PlanResult
    moves: dict[int, str]  # visit id -> why it left its standing collector
    saved_m: dict[int, int] = field(default_factory=dict)  # visit id -> metres a paying move saved


def replan(collectors: Sequence[Collector], tasks: Sequence[VisitTask], standing: Standing, *,
           matrices: tuple[np.ndarray, np.ndarray], time_limit_s: float, move_cost_m: float,
           prize_m: float = PRIZE_M, seed: int = 0,
           sequence: Callable | None = None) -> Replan:
    """Keep the standing routes, make the needed and paying moves, place the rest, re-sequence.

    `sequence(collector, tasks, matrices, time_limit_s)` orders one collector's visits (the
    PyVRP planner); it is given so this module does not import the solver that imports it.
    """
    t0 = time.perf_counter()
    dist, dur = matrices
    n_c = len(collectors)
    t_index = {t.id: j for j, t in enumerate(tasks)}
    c_index = {c.id: i for i, c in enumerate(collectors)}
    reasons, _, prefixes = prepare(collectors, tasks, dist, dur)
    prefixed = set().union(*prefixes.values()) if prefixes else set()
    for v, (c, _) in standing.pins.items():
        if v in t_index and c not in c_index and t_index[v] not in prefixed:
            reasons[t_index[v]] = PINNED_ELSEWHERE  # never handed to someone else meanwhile
    skip = set(reasons) | prefixed
    prizes = prizes_of(tasks, prize_m)

    pinned = {t_index[v]: (c_index[c], pos) for v, (c, pos) in standing.pins.items()
              if v in t_index and c in c_index and t_index[v] not in prefixed}
    owner_before = {t_index[v]: c for c, vids in standing.order.items() for v in vids if v in t_index}
    seqs: dict[int, list[int]] = {i: [] for i in range(n_c)}
    for cid, vids in standing.order.items():
        i = c_index.get(cid)
        if i is not None:
            seqs[i] = [t_index[v] for v in vids if v in t_index and t_index[v] not in skip
                       and t_index[v] not in pinned and can_serve(collectors[i], tasks[t_index[v]])]
    for j, (i, pos) in sorted(pinned.items(), key=lambda kv: kv[1][1] or 10**6):
        if j in reasons or not can_serve(collectors[i], tasks[j]):
            continue
        if pos is None:
            found = cheapest_insertion(i, collectors[i], prefixes[i], seqs[i], j, tasks, dist, dur)
            seqs[i] = found[1] if found else seqs[i] + [j]
        else:
            seqs[i].insert(min(max(0, pos - 1 - len(prefixes[i])), len(seqs[i])), j)
    locked = set(pinned)

    moves: dict[int, str] = {}
    for i, c in enumerate(collectors):
        seqs[i], dropped = _fit(i, c, prefixes[i], seqs[i], tasks, dist, dur, locked)
        for j in dropped:
            moves[j] = NO_LONGER_FITS

    placed = {j for s in seqs.values() for j in s}
    changed: set[int] = set()
    free = sorted((j for j in range(len(tasks)) if j not in skip and j not in placed),
                  key=lambda j: (-tasks[j].mandatory, -prizes[j]))
    loads = _loads(collectors, prefixes, seqs, tasks)
    displaced: dict[int, int] = {}  # task index -> collector id it was taken from
    for j in free:
        best = _best_insertion(j, collectors, prefixes, seqs, tasks, dist, dur, None, loads)
        if best is None and (j in owner_before or tasks[j].mandatory):
            # A visit that lost its collector (or must be made) may take the place of a less
            # valuable one; the one it displaces leaves the day, reported as removed.
            swap = _best_swap(j, collectors, prefixes, seqs, tasks, dist, dur, prizes, locked)
            if swap is not None:
                _, i, seq, out = swap
                seqs[i] = seq
                displaced[out] = collectors[i].id
                changed.add(i)
                _left_standing(j, owner_before, c_index, moves)
            continue
        if best is None or best[0] >= prizes[j] and not tasks[j].mandatory:
            continue
        _, i, seq = best
        seqs[i] = seq
        loads[i] += tasks[j].demand
        changed.add(i)
        _left_standing(j, owner_before, c_index, moves)

    saved = _paying_moves(collectors, prefixes, seqs, tasks, dist, dur, locked, move_cost_m, changed)
    for j in saved:
        moves[j] = SAVES_DISTANCE
    for j, (i, _) in pinned.items():
        if owner_before.get(j) is not None and owner_before[j] != collectors[i].id:
            moves[j] = PINNED

    changed |= {i for i in range(n_c) if set(seqs[i]) != {t_index[v] for v in
                                                           standing.order.get(collectors[i].id, ()) if v in t_index}}
    if sequence is not None and changed:
        left = max(0.05, time_limit_s - (time.perf_counter() - t0))
        for i in sorted(changed):
            if any(pinned[j][1] is not None for j in seqs[i] if j in pinned):
                continue  # a pinned position is the dispatcher's order, not the solver's
            seqs[i] = _resequence(i, collectors[i], prefixes[i], seqs[i], tasks, dist, dur, sequence,
                                  min(RESEQUENCE_S, left / len(changed)))
    full = {i: prefixes[i] + seqs[i] for i in range(n_c)}
    result = finish(collectors, tasks, dist, dur, full, reasons, "stable", prize_m)
    served = {s.task_id for r in result.routes for s in r.stops}
    lost_pins = {tasks[j].id for j in pinned if tasks[j].id not in served and j not in reasons}
    if lost_pins:
        result.unassigned = [(v, "pin_infeasible" if v in lost_pins else why) for v, why in result.unassigned]
    if displaced:
        result.unassigned = [(v, "displaced_by_priority" if t_index[v] in displaced and why == "no_capacity" else why)
                             for v, why in result.unassigned]
    return Replan(result, {tasks[j].id: why for j, why in moves.items() if tasks[j].id in served},
                  {tasks[j].id: m for j, m in saved.items()})


def _left_standing(j: int, owner_before: dict[int, int], c_index: dict[int, int], moves: dict[int, str]) -> None:
    """Say why task j, placed with someone new, left its standing collector (unless already said)."""
    if j in owner_before and j not in moves:
        moves[j] = COLLECTOR_NOT_IN_PLAN if owner_before[j] not in c_index else NO_LONGER_FITS


def _ok(i: int, c: Collector, full: list[int], tasks, dist, dur) -> bool:
    return not route_problems(c, full, tasks, walk(i, c, full, tasks, dist, dur))


def _fit(i: int, c: Collector, prefix: list[int], seq: list[int], tasks, dist, dur,
         locked: set[int]) -> tuple[list[int], list[int]]:
    """Drop stops until the route fits: late ones first, then the day's last unpinned ones."""
    seq, dropped = list(seq), []
    while seq:
        w = walk(i, c, prefix + seq, tasks, dist, dur)
        if not route_problems(c, prefix + seq, tasks, w):
            break
        late = [k for k, m in enumerate(w.missed[len(prefix):]) if m and seq[k] not in locked]
        movable = [k for k, j in enumerate(seq) if j not in locked]
        if not late and not movable:
            break
        dropped.append(seq.pop(late[0] if late else movable[-1]))
    return seq, dropped


def _insertion_costs(i: int, n_c: int, full: list[int], start: int, j: int, dist) -> np.ndarray:
    """Extra metres of putting task j before position p, for p from `start` to len(full)."""
    nodes = [i] + [n_c + k for k in full] + [i]
    before = np.array(nodes[start:len(full) + 1])
    after = np.array(nodes[start + 1:len(full) + 2])
    x = n_c + j
    return dist[before, x] + dist[x, after] - dist[before, after]


def cheapest_insertion(i: int, c: Collector, prefix: Sequence[int], seq: Sequence[int], j: int,
                       tasks: Sequence[VisitTask], dist: np.ndarray, dur: np.ndarray, *,
                       positions: int | None = POSITIONS) -> tuple[float, list[int]] | None:
    """Return (extra metres, new movable sequence) of the cheapest insertion of task j into the
    movable stops `seq` of collector c (row i of the matrices), after its fixed `prefix`, that breaks
    no rule (routing.schedule.route_problems), or None when none does.

    Positions are tried cheapest first (the lowest position on a tie), at most `positions` of them
    (None: every one).
    """
    if not can_serve(c, tasks[j]):
        return None
    prefix, seq = list(prefix), list(seq)
    load = sum(tasks[k].demand for k in prefix + seq)
    if load + tasks[j].demand > c.max_visits:
        return None
    n_c = dist.shape[0] - len(tasks)
    full = prefix + seq
    costs = _insertion_costs(i, n_c, full, len(prefix), j, dist)
    for p in np.argsort(costs, kind="stable")[:positions]:
        cand = seq[:p] + [j] + seq[p:]
        if _ok(i, c, prefix + cand, tasks, dist, dur):
            return float(costs[p]), cand
    return None


def _nearest_collectors(j: int, n_c: int, prefixes, seqs, dist) -> list[int]:
    """Collectors by how near their start or any stop is to task j."""
    owners, nodes = [], []
    for i in range(n_c):
        owners += [i] * (1 + len(prefixes[i]) + len(seqs[i]))
        nodes += [i] + [n_c + k for k in prefixes[i] + seqs[i]]
    near = np.full(n_c, np.inf)
    np.minimum.at(near, np.array(owners), dist[np.array(nodes), n_c + j])
    return list(np.argsort(near, kind="stable"))


def _loads(collectors, prefixes, seqs, tasks) -> list[int]:
    return [sum(tasks[k].demand for k in prefixes[i] + seqs[i]) for i in range(len(collectors))]


def _best_insertion(j: int, collectors, prefixes, seqs, tasks, dist, dur, exclude: int | None,
                    loads: list[int]) -> tuple[float, int, list[int]] | None:
    n_c = len(collectors)
    room = [i for i, c in enumerate(collectors) if i != exclude and loads[i] + tasks[j].demand <= c.max_visits
            and can_serve(c, tasks[j])]
    if not room:
        return None
    roomy = set(room)
    order = [i for i in _nearest_collectors(j, n_c, prefixes, seqs, dist) if i in roomy][:CANDIDATES]
    best = None
    for i in order:
        found = cheapest_insertion(i, collectors[i], prefixes[i], seqs[i], j, tasks, dist, dur)
        if found and (best is None or found[0] < best[0]):
            best = (found[0], i, found[1])
    return best


def _best_swap(j: int, collectors, prefixes, seqs, tasks, dist, dur, prizes, locked: set[int]
               ) -> tuple[float, int, list[int], int] | None:
    """Return (value, collector, new sequence, displaced task) of the best trade of a less valuable
    visit for task j among the nearest collectors, or None when no trade is worth its detour."""
    n_c = len(collectors)
    best = None
    order = [i for i in _nearest_collectors(j, n_c, prefixes, seqs, dist) if can_serve(collectors[i], tasks[j])]
    for i in order[:CANDIDATES]:
        c = collectors[i]
        base = walk(i, c, prefixes[i] + seqs[i], tasks, dist, dur).distance_m
        for k in sorted((k for k in seqs[i] if k not in locked and prizes[k] < prizes[j]
                         and tasks[k].demand >= tasks[j].demand and not tasks[k].mandatory),
                        key=lambda k: prizes[k])[:POSITIONS]:
            rest = [x for x in seqs[i] if x != k]
            found = cheapest_insertion(i, c, prefixes[i], rest, j, tasks, dist, dur)
            if found is None:
                continue
            extra = walk(i, c, prefixes[i] + found[1], tasks, dist, dur).distance_m - base
            value = prizes[j] - prizes[k] - extra
            if value > 0 and (best is None or value > best[0]):
                best = (value, i, found[1], k)
    return best


def _paying_moves(collectors, prefixes, seqs, tasks, dist, dur, locked: set[int], move_cost_m: float,
                  changed: set[int]) -> dict[int, int]:
    """Move a visit to another collector when that saves more than a move costs; one pass."""
    n_c = len(collectors)
    saved: dict[int, int] = {}
    loads = _loads(collectors, prefixes, seqs, tasks)
    for a in range(n_c):
        for j in list(seqs[a]):
            if j in locked or j not in seqs[a]:
                continue
            full = prefixes[a] + seqs[a]
            k = full.index(j)
            nodes = [a] + [n_c + x for x in full] + [a]
            prev, nxt = nodes[k], nodes[k + 2]
            gain = dist[prev, n_c + j] + dist[n_c + j, nxt] - dist[prev, nxt]
            if gain <= move_cost_m:
                continue
            best = _best_insertion(j, collectors, prefixes, seqs, tasks, dist, dur, a, loads)
            if best is None or gain - best[0] <= move_cost_m:
                continue
            seqs[a] = [x for x in seqs[a] if x != j]
            seqs[best[1]] = best[2]
            loads[a] -= tasks[j].demand
            loads[best[1]] += tasks[j].demand
            changed.update((a, best[1]))
            saved[j] = int(gain - best[0])
    return saved


def _resequence(i: int, c: Collector, prefix: list[int], seq: list[int], tasks, dist, dur,
                sequence: Callable, limit_s: float) -> list[int]:
    """Let the solver order one collector's visits (all required); keep ours unless it is shorter."""
    if len(seq) < 2:
        return seq
    sub = prefix + seq
    n_c = dist.shape[0] - len(tasks)
    idx = np.array([i] + [n_c + j for j in sub])
    sub_tasks = [replace(tasks[j], mandatory=True) for j in sub]
    result = sequence(c, sub_tasks, (dist[np.ix_(idx, idx)], dur[np.ix_(idx, idx)]), limit_s)
    if len(result.routes) != 1 or len(result.routes[0].stops) != len(sub):
        return seq
    back = {tasks[j].id: j for j in sub}
    order = [back[s.task_id] for s in result.routes[0].stops]
    if order[:len(prefix)] != prefix:
        return seq
    mine = walk(i, c, sub, tasks, dist, dur).distance_m
    return order[len(prefix):] if result.routes[0].distance_m < mine else seq
