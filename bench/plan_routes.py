"""A city-sized planning day: 5,000 open visits in Chengdu, 100 collectors, room for 1,200 visits.

The planner must choose which visits to make and route them. Prints wall time, visits assigned,
priority served, km per visit and validate() violations for the planner and the greedy baseline.

Usage: python bench/plan_routes.py [SECONDS] [SEED]   (solver time limit, default 45 s)
       python bench/plan_routes.py --replan [SECONDS] [SEED]
         the morning plan, then one collector drops out at 10:00 and the day is re-planned:
         re-plan time (goal < 10 s), visits moved that did not need to (goal 0), km added.
       python bench/plan_routes.py --regions 4 [SECONDS] [SEED]   (default 20 s per job)
         the day split into regions: each region's solve time, the single-job time, and the
         wall time with 1 and 2 workers (regions run as separate processes).
"""
from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from backend.demo.city import random_point  # noqa: E402
from backend.routing.baseline import plan_greedy  # noqa: E402
from backend.routing.matrix import build_matrices  # noqa: E402
from backend.routing.schedule import Collector, PlanResult, VisitTask, validate  # noqa: E402
from backend.routing.solver import Standing, plan, plan_stable  # noqa: E402

N_VISITS, N_COLLECTORS, MAX_VISITS = 5_000, 100, 12
SHIFT = (8 * 3600 + 1800, 18 * 3600)  # 08:30-18:00
SERVICE_S = 20 * 60
DETOUR, SPEED_MPS = 1.35, 25 / 3.6  # city driving, door to door
# Arrival windows a debtor can give, already inside lawful hours (08:00-22:00).
WINDOWS = ([(9 * 3600, 12 * 3600)], [(14 * 3600, 17 * 3600)], [(12 * 3600, 14 * 3600)],
           [(8 * 3600, 10 * 3600), (16 * 3600, 18 * 3600)], [(19 * 3600, 21 * 3600)])
OPEN_DAY = [(8 * 3600, 22 * 3600 - SERVICE_S)]


def make_day(seed: int) -> tuple[list[Collector], list[VisitTask]]:
    """Return the day's collectors and open visits."""
    rng = random.Random(seed)
    collectors = []
    for k in range(N_COLLECTORS):
        lat, lon, _ = random_point(rng)
        skills = frozenset(s for s, share in (("legal", 0.2), ("business", 0.15)) if rng.random() < share)
        crew = 2 if k % 12 == 0 else 1  # 9 two-person crews
        collectors.append(Collector(k + 1, lat, lon, *SHIFT, MAX_VISITS, skills, crew))
    tasks = []
    for k in range(N_VISITS):
        lat, lon, _ = random_point(rng)
        days_left = rng.choice((0, 1, 1, 2, 2, 3, 3, 3))  # a requested visit is due within 3 days
        arrears = rng.lognormvariate(math.log(20_000), 1.0)  # CNY
        priority = (4 - days_left) * (1 + math.log10(1 + arrears / 5_000))
        roll = rng.random()
        skills = frozenset({"legal"}) if roll < 0.05 else frozenset({"business"}) if roll < 0.08 else frozenset()
        tasks.append(VisitTask(
            id=k + 1, lat=lat, lon=lon, service_s=SERVICE_S, priority=round(priority, 3),
            windows=list(rng.choice(WINDOWS)) if rng.random() < 0.2 else list(OPEN_DAY),
            required_skills=skills, min_team=2 if rng.random() < 0.02 else 1,
            mandatory=rng.random() < 0.004))
    return collectors, tasks


def report(name: str, result: PlanResult, tasks: list[VisitTask], wall_s: float, violations: list) -> float:
    """Print one planner's figures; return km per assigned visit."""
    by_id = {t.id: t for t in tasks}
    visits = [s.task_id for r in result.routes for s in r.stops]
    served = sum(by_id[v].priority for v in visits)
    total = sum(t.priority for t in tasks)
    km = sum(r.distance_m for r in result.routes) / 1000
    reasons: dict[str, int] = {}
    for _, why in result.unassigned:
        reasons[why] = reasons.get(why, 0) + 1
    mandatory = sum(by_id[v].mandatory for v in visits)
    impossible = {t for t, why in result.unassigned if why != "no_capacity"}
    plannable = sum(t.mandatory and t.id not in impossible for t in tasks)
    print(f"{name}: wall {wall_s:.1f} s | assigned {len(visits)} | priority served {served:.0f} "
          f"({100 * served / total:.1f} % of all, {served / max(1, len(visits)):.2f} per visit) | "
          f"{km:.0f} km, {km / max(1, len(visits)):.2f} km/visit | mandatory {mandatory} of {plannable} "
          f"plannable | violations {len(violations)}")
    print(f"  unassigned: {dict(sorted(reasons.items()))}")
    return km / max(1, len(visits)), served


def main(seconds: float, seed: int) -> None:
    """Plan the day with the planner and the baseline; print both and the km/visit ratio."""
    collectors, tasks = make_day(seed)
    t0 = time.perf_counter()
    points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
    matrices = build_matrices(points, detour_factor=DETOUR, speed_mps=SPEED_MPS)
    t_matrix = time.perf_counter() - t0
    ours = plan(collectors, tasks, time_limit_s=seconds, detour_factor=DETOUR, speed_mps=SPEED_MPS,
                seed=seed, matrices=matrices)
    wall = time.perf_counter() - t0
    print(f"matrix {t_matrix:.1f} s ({len(points)} x {len(points)}), solver budget {seconds:.0f} s")
    km_ours, pr_ours = report("planner ", ours, tasks, wall, validate(collectors, tasks, ours, matrices))
    t1 = time.perf_counter()
    base = plan_greedy(collectors, tasks, detour_factor=DETOUR, speed_mps=SPEED_MPS, matrices=matrices)
    wall_b = time.perf_counter() - t1 + t_matrix
    km_base, pr_base = report("baseline", base, tasks, wall_b, validate(collectors, tasks, base, matrices))
    print(f"km/visit planner / baseline = {km_ours / km_base:.3f} ({100 * (1 - km_ours / km_base):.1f} % fewer); "
          f"priority served planner / baseline = {pr_ours / pr_base:.3f}")


DROPOUT_AT = 10 * 3600
MOVE_COST_M = 3_000


def at_ten(collectors: list[Collector], tasks: list[VisitTask], result: PlanResult
           ) -> tuple[list[Collector], list[VisitTask], Standing]:
    """The day at 10:00: visits begun before then are history, the rest of each route stands."""
    done: dict[int, list[int]] = {}
    order: dict[int, list[int]] = {}
    for r in result.routes:
        done[r.collector_id] = [s.task_id for s in r.stops if s.arrival_s < DROPOUT_AT]
        order[r.collector_id] = [s.task_id for s in r.stops if s.arrival_s >= DROPOUT_AT]
    now = [Collector(c.id, c.lat, c.lon, c.shift_start_s, c.shift_end_s, c.max_visits, c.skills, c.team_size,
                     tuple(done.get(c.id, ()))) for c in collectors]
    history = {v for vs in done.values() for v in vs}
    later = []
    for t in tasks:
        if t.id in history:
            later.append(VisitTask(t.id, t.lat, t.lon, t.service_s, [(0, 10**7)], t.priority))
            continue
        windows = [(max(lo, DROPOUT_AT), hi) for lo, hi in t.windows if hi >= DROPOUT_AT]
        if windows:
            later.append(VisitTask(t.id, t.lat, t.lon, t.service_s, windows, t.priority, t.required_skills,
                                   t.min_team, t.mandatory, t.demand))
    return now, later, Standing(order=order)


def replan_after_dropout(seconds: float, seed: int) -> None:
    """Plan the morning, drop the busiest collector at 10:00, re-plan; print time, moves, km."""
    collectors, tasks = make_day(seed)
    points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
    matrices = build_matrices(points, detour_factor=DETOUR, speed_mps=SPEED_MPS)
    morning = plan(collectors, tasks, time_limit_s=seconds, detour_factor=DETOUR, speed_mps=SPEED_MPS,
                   seed=seed, matrices=matrices)
    now, later, standing = at_ten(collectors, tasks, morning)
    absent = max(standing.order, key=lambda cid: len(standing.order[cid]))
    orphans = set(standing.order[absent])  # still standing: the re-plan sees whose visits they were
    absent_done = [c for c in now if c.id == absent][0].fixed_visit_ids
    staying = [c for c in now if c.id != absent]
    history = set(absent_done)
    later = [t for t in later if t.id not in history]  # the absent collector's morning is not re-planned
    keep = [i for i, c in enumerate(now) if c.id != absent]
    n_c = len(now)
    later_ids = {t.id: t for t in later}
    t_cols = [n_c + j for j, t in enumerate(tasks) if t.id in later_ids]
    idx = keep + t_cols
    sub = (matrices[0][idx][:, idx], matrices[1][idx][:, idx])
    later = [later_ids[t.id] for t in tasks if t.id in later_ids]
    before_km = sum(r.distance_m for r in morning.routes if r.collector_id != absent) / 1000
    t0 = time.perf_counter()
    out = plan_stable(staying, later, standing, time_limit_s=seconds, move_cost_m=MOVE_COST_M,
                      detour_factor=DETOUR, speed_mps=SPEED_MPS, seed=seed, matrices=sub)
    wall = time.perf_counter() - t0
    owner = {v: cid for cid, vs in standing.order.items() for v in vs if cid != absent}
    after = {s.task_id: r.collector_id for r in out.result.routes for s in r.stops}
    moved = {v for v, cid in owner.items() if v in after and after[v] != cid}
    unexplained = moved - set(out.moves)
    paying = {v for v in moved if out.moves.get(v) == "saves_distance"}
    placed = orphans & set(after)
    km = sum(r.distance_m for r in out.result.routes) / 1000
    problems = validate(staying, later, out.result, sub)
    print(f"re-plan after a dropout at 10:00 (collector {absent}, {len(orphans)} open visits, "
          f"{len(absent_done)} done before 10:00), move cost {MOVE_COST_M} m:")
    print(f"  time {wall:.2f} s (goal < 10 s) | violations {len(problems)}")
    print(f"  visits moved that did not need to move: {len(moved - paying)} (goal 0); moves paying more than "
          f"the move cost: {len(paying)} (saving {sum(out.saved_m.get(v, 0) for v in paying) / 1000:.1f} km)")
    print(f"  dropout's visits placed: {len(placed)} of {len(orphans)}; visits displaced by a more valuable one: "
          f"{len([v for v in owner if v not in after])}; unexplained moves {len(unexplained)}")
    print(f"  km: {before_km:.1f} before (staying collectors), {km:.1f} after, {km - before_km:+.1f} km added")
    t1 = time.perf_counter()
    fresh = plan(staying, later, time_limit_s=min(seconds, 10.0), detour_factor=DETOUR, speed_mps=SPEED_MPS,
                 seed=seed, matrices=sub)
    fresh_after = {s.task_id: r.collector_id for r in fresh.routes for s in r.stops}
    fresh_moved = sum(1 for v, cid in owner.items() if v in fresh_after and fresh_after[v] != cid)
    print(f"  for comparison, a fresh solve ({time.perf_counter() - t1:.1f} s): {fresh_moved} visits change "
          f"collector, {sum(r.distance_m for r in fresh.routes) / 1000:.1f} km")


def _solve_region(job: tuple) -> tuple[str, float, int, float, float]:
    """One region's job as a worker runs it: matrix, solve, check. Returns (name, s, visits, km, priority)."""
    name, collectors, tasks, seconds, seed = job
    t0 = time.perf_counter()
    points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
    matrices = build_matrices(points, detour_factor=DETOUR, speed_mps=SPEED_MPS)
    result = plan(collectors, tasks, time_limit_s=seconds, detour_factor=DETOUR, speed_mps=SPEED_MPS, seed=seed,
                  matrices=matrices)
    assert not validate(collectors, tasks, result, matrices)
    by_id = {t.id: t for t in tasks}
    served = [s.task_id for r in result.routes for s in r.stops]
    return (name, time.perf_counter() - t0, len(served), sum(r.distance_m for r in result.routes) / 1000,
            sum(by_id[v].priority for v in served))


def regions(count: int, seconds: float, seed: int) -> None:
    """Split the day as the API does (bisection of starts, visits to the nearest start's region); time it."""
    import multiprocessing

    import numpy as np

    from backend.planning.regions import cluster, nearest_start

    collectors, tasks = make_day(seed)
    starts = np.array([(c.lat, c.lon) for c in collectors])
    labels = cluster(starts, count)
    nearest = labels[nearest_start(starts, np.array([(t.lat, t.lon) for t in tasks]))]
    jobs = [(f"region-{k + 1}", [c for c, lab in zip(collectors, labels, strict=True) if lab == k],
             [t for t, lab in zip(tasks, nearest, strict=True) if lab == k], seconds, seed) for k in range(count)]
    print(f"{count} regions, solver budget {seconds:.0f} s per job (time_limit_s applies to each region's job)")
    single = _solve_region(("single job", collectors, tasks, seconds, seed))
    walls = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            done = pool.map(_solve_region, jobs, chunksize=1)
        walls[workers] = time.perf_counter() - t0
    for (name, secs, visits, km, prio), job in zip(done, jobs, strict=True):
        print(f"  {name}: {len(job[1])} collectors, {len(job[2])} visits | {secs:.1f} s | assigned {visits}, "
              f"{km:.0f} km ({km / max(1, visits):.2f} km/visit), priority {prio:.0f}")
    name, secs, visits, km, prio = single
    print(f"  single job: {secs:.1f} s | assigned {visits}, {km:.0f} km ({km / max(1, visits):.2f} km/visit), "
          f"priority {prio:.0f}")
    r_visits, r_km, r_prio = (sum(d[i] for d in done) for i in (2, 3, 4))
    print(f"  regions together: assigned {r_visits}, {r_km:.0f} km ({r_km / max(1, r_visits):.2f} km/visit), "
          f"priority {r_prio:.0f}")
    print(f"  wall time for all regions: 1 worker {walls[1]:.1f} s | 2 workers {walls[2]:.1f} s")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--regions":
        regions(int(args[1]), float(args[2]) if len(args) > 2 else 20.0, int(args[3]) if len(args) > 3 else 7)
    elif args and args[0] == "--replan":
        replan_after_dropout(float(args[1]) if len(args) > 1 else 20.0, int(args[2]) if len(args) > 2 else 7)
    else:
        main(float(args[0]) if args else 45.0, int(args[1]) if len(args) > 1 else 7)
