"""Solomon VRPTW instances through the planner's own path: proof that windows, service times and
capacities reach PyVRP intact and that our solve parameters stay near the best-known solutions.

Each instance becomes Collectors and VisitTasks (every customer mandatory, demand = its load) and
goes through `plan()` and `validate()` exactly as a field day does.

Usage: python bench/solomon.py [DATA_DIR] [SECONDS]   (or FIELDTRACE_VRPTW_DIR, default
../shared/data/vrptw relative to the repo root; 10 s per instance)
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pyvrp

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from backend.routing.schedule import Collector, VisitTask, validate  # noqa: E402
from backend.routing.solver import plan  # noqa: E402

INSTANCES = ("R101", "C101", "RC101", "R201")


def instance(path: Path) -> tuple[list[Collector], list[VisitTask], tuple[np.ndarray, np.ndarray]]:
    """Read a VRPLIB VRPTW instance as the planner's collectors, tasks and matrices."""
    data = pyvrp.read(path, round_func="dimacs")  # distances and times x10, truncated
    vt, depot = data.vehicle_types()[0], data.locations()[0]
    collectors = [Collector(id=k, lat=depot.y, lon=depot.x, shift_start_s=vt.tw_early,
                            shift_end_s=vt.tw_late, max_visits=vt.capacity[0])
                  for k in range(vt.num_available)]
    tasks = []
    for k, c in enumerate(data.clients()):
        loc = data.locations()[c.location]
        tasks.append(VisitTask(id=k + 1, lat=loc.y, lon=loc.x, service_s=c.service_duration,
                               windows=[(c.tw_early, c.tw_late)], priority=1.0, mandatory=True,
                               demand=c.delivery[0]))
    rows = [0] * len(collectors) + [c.location for c in data.clients()]
    idx = np.ix_(rows, rows)
    return collectors, tasks, (data.distance_matrix(0)[idx], data.duration_matrix(0)[idx])


def best_known(path: Path) -> float:
    """Return the cost on the last 'Cost' line of a .sol file."""
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("Cost")]
    return float(lines[-1].split()[1])


def run(data_dir: Path, seconds: float) -> float:
    """Solve every instance, print cost, best-known and gap; return the mean gap in %."""
    gaps = []
    print(f"{'instance':<9}{'cost':>10}{'best':>10}{'gap %':>8}{'routes':>8}{'missed':>8}"
          f"{'violations':>12}{'wall s':>8}")
    for name in INSTANCES:
        collectors, tasks, matrices = instance(data_dir / f"{name}.vrp")
        t0 = time.perf_counter()
        result = plan(collectors, tasks, time_limit_s=seconds, detour_factor=1.0, speed_mps=1.0,
                      matrices=matrices)
        wall = time.perf_counter() - t0
        cost = sum(r.distance_m for r in result.routes) / 10
        best = best_known(data_dir / f"{name}.sol")
        gap = 100 * (cost - best) / best
        gaps.append(gap)
        bad = validate(collectors, tasks, result, matrices)
        print(f"{name:<9}{cost:>10.1f}{best:>10.1f}{gap:>8.2f}{len(result.routes):>8}"
              f"{len(result.unassigned):>8}{len(bad):>12}{wall:>8.1f}")
    mean = float(np.mean(gaps))
    print(f"mean gap {mean:.2f} % (goal <= 0.5 %)")
    return mean


if __name__ == "__main__":
    default = REPO.parent / "shared" / "data" / "vrptw"
    data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FIELDTRACE_VRPTW_DIR", default))
    run(data_dir, float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
