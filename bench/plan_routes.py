"""A city-sized planning day: 5,000 open visits in Chengdu, 100 collectors, room for 1,200 visits.

The planner must choose which visits to make and route them. Prints wall time, visits assigned,
priority served, km per visit and validate() violations for the planner and the greedy baseline.

Usage: python bench/plan_routes.py [SECONDS] [SEED]   (solver time limit, default 45 s)
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
from backend.routing.solver import plan  # noqa: E402

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


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 45.0, int(sys.argv[2]) if len(sys.argv) > 2 else 7)
