"""The route-planning engine on its own: no database, no app, small days in central Chengdu."""
from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest

from backend.routing import matrix
from backend.routing.baseline import plan_greedy
from backend.routing.matrix import build_matrices, straight_line_matrices
from backend.routing.schedule import Collector, PlanResult, VisitTask, make_route, validate
from backend.routing.solver import plan

HOME = (30.6570, 104.0660)  # Tianfu Square
SHIFT = (8 * 3600 + 1800, 18 * 3600)
OPEN = (8 * 3600, 21 * 3600)
DETOUR, SPEED = 1.3, 7.0


def at(north_m: float, east_m: float) -> tuple[float, float]:
    """Return the (lat, lon) that many metres north and east of HOME."""
    lat = HOME[0] + north_m / 111_195
    return lat, HOME[1] + east_m / (111_195 * math.cos(math.radians(HOME[0])))


def collector(cid: int, north: float = 0, east: float = 0, **kw) -> Collector:
    kw.setdefault("max_visits", 12)
    return Collector(cid, *at(north, east), *SHIFT, **kw)


def task(tid: int, north: float, east: float, **kw) -> VisitTask:
    kw.setdefault("windows", [OPEN])
    kw.setdefault("priority", 1.0)
    return VisitTask(tid, *at(north, east), service_s=1200, **kw)


def matrices_for(collectors, tasks):
    points = [(c.lat, c.lon) for c in collectors] + [(t.lat, t.lon) for t in tasks]
    return straight_line_matrices(points, detour_factor=DETOUR, speed_mps=SPEED)


def run(collectors, tasks, seconds: float = 0.3, planner=None) -> PlanResult:
    """Plan, and insist the plan breaks nothing."""
    m = matrices_for(collectors, tasks)
    if planner is None:
        result = plan(collectors, tasks, time_limit_s=seconds, detour_factor=DETOUR, speed_mps=SPEED,
                      matrices=m)
    else:
        result = planner(collectors, tasks, detour_factor=DETOUR, speed_mps=SPEED, matrices=m)
    assert validate(collectors, tasks, result, m) == []
    return result


def placed(result: PlanResult) -> dict[int, int]:
    return {s.task_id: r.collector_id for r in result.routes for s in r.stops}


def stop(result: PlanResult, task_id: int):
    return next(s for r in result.routes for s in r.stops if s.task_id == task_id)


# --- matrices ---------------------------------------------------------------------------------

def test_matrix_matches_known_distances_in_chengdu():
    # 0.1 degree of latitude at 30.65 N is 11.09 km (WGS84 meridian arc); 0.1 degree of longitude
    # there is 9.58 km.
    pts = [(30.60, 104.06), (30.70, 104.06), (30.60, 104.16)]
    dist, dur = straight_line_matrices(pts, detour_factor=1.0, speed_mps=10.0)
    assert dist.shape == dur.shape == (3, 3) and dist.dtype == np.int64
    assert dist[0, 1] == pytest.approx(11_090, rel=0.01)
    assert dist[0, 2] == pytest.approx(9_580, rel=0.01)
    assert (np.diag(dist) == 0).all() and (dist == dist.T).all()
    assert dur[0, 1] == round(dist[0, 1] / 10.0)


def test_matrix_applies_detour_factor_and_speed():
    pts = [(30.60, 104.06), (30.70, 104.06)]
    plain, _ = straight_line_matrices(pts, detour_factor=1.0, speed_mps=1.0)
    dist, dur = straight_line_matrices(pts, detour_factor=1.4, speed_mps=7.0)
    assert dist[0, 1] == pytest.approx(1.4 * plain[0, 1], abs=1)
    assert dur[0, 1] == pytest.approx(dist[0, 1] / 7.0, abs=1)


def test_matrix_is_square_symmetric_and_zero_on_the_diagonal():
    # Its speed (5,100 points) is measured in bench/plan_routes.py, not here.
    rng = random.Random(3)
    pts = [(30.66 + rng.uniform(-0.3, 0.3), 104.06 + rng.uniform(-0.3, 0.3)) for _ in range(400)]
    dist, dur = straight_line_matrices(pts, detour_factor=DETOUR, speed_mps=SPEED)
    assert dist.shape == dur.shape == (400, 400)
    assert (dist == dist.T).all() and (dist.diagonal() == 0).all()
    assert (dur >= dist / SPEED - 1).all()


def test_osrm_unreachable_falls_back_to_straight_lines():
    pts = [(30.60, 104.06), (30.70, 104.06)]
    cache: dict = {}
    dist, dur = build_matrices(pts, detour_factor=1.3, speed_mps=7.0, osrm_url="http://127.0.0.1:9",
                               cache=cache)
    ref_dist, ref_dur = straight_line_matrices(pts, detour_factor=1.3, speed_mps=7.0)
    assert (dist == ref_dist).all() and (dur == ref_dur).all()
    assert cache == {}


def test_osrm_blocks_are_cached_and_unroutable_pairs_fall_back(monkeypatch):
    calls = []

    def fake_block(url, src, dst, timeout_s):
        calls.append((len(src), len(dst)))
        d = np.full((len(src), len(dst)), 5_000, dtype=np.int64)
        d[0, -1] = -1  # OSRM answered null: no road
        return d, d // 10

    monkeypatch.setattr(matrix, "_osrm_block", fake_block)
    pts = [(30.60, 104.06), (30.70, 104.06), (30.60, 104.16)]
    cache: dict = {}
    dist, dur = build_matrices(pts, detour_factor=1.3, speed_mps=7.0, osrm_url="http://osrm", cache=cache)
    build_matrices(pts, detour_factor=1.3, speed_mps=7.0, osrm_url="http://osrm", cache=cache)
    assert calls == [(3, 3)]  # the second plan asked nothing
    assert dist[1, 2] == 5_000 and dur[1, 2] == 500
    straight, _ = straight_line_matrices(pts, detour_factor=1.3, speed_mps=7.0)
    assert dist[0, 2] == straight[0, 2]


# --- constraints ------------------------------------------------------------------------------

def test_visit_is_made_inside_its_window():
    tasks = [task(1, 500, 0, windows=[(14 * 3600, 15 * 3600)]), task(2, -500, 0)]
    result = run([collector(1)], tasks)
    assert 14 * 3600 <= stop(result, 1).arrival_s <= 15 * 3600
    assert placed(result) == {1: 1, 2: 1}


def test_route_ends_by_shift_end():
    c = collector(1)
    c = dataclasses.replace(c, shift_end_s=c.shift_start_s + 3600 + 1800)  # 90 minutes
    tasks = [task(k, 300 * k, 0) for k in range(1, 9)]
    result = run([c], tasks)
    route = result.routes[0]
    assert 1 <= len(route.stops) <= 4
    assert c.shift_start_s + route.duration_s <= c.shift_end_s
    assert {why for _, why in result.unassigned} == {"no_capacity"}


def test_max_visits_is_respected():
    tasks = [task(k, 200 * k, 100) for k in range(1, 11)]
    result = run([collector(1, max_visits=3)], tasks)
    assert len(result.routes[0].stops) == 3
    assert sum(why == "no_capacity" for _, why in result.unassigned) == 7


def test_skilled_visit_goes_to_the_collector_with_the_skill():
    tasks = [task(1, 200, 0, required_skills=frozenset({"legal"})),
             task(2, 300, 0, required_skills=frozenset({"tax"}))]
    near, far = collector(1), collector(2, 5_000, 5_000, skills=frozenset({"legal"}))
    result = run([near, far], tasks)
    assert placed(result) == {1: 2}
    assert dict(result.unassigned) == {2: "no_collector_with_skills"}


def test_hazard_visit_needs_a_two_person_crew():
    tasks = [task(1, 200, 0, min_team=2)]
    assert dict(run([collector(1)], tasks).unassigned) == {1: "needs_two_person_crew"}
    result = run([collector(1), collector(2, -6_000, 0, team_size=2)], tasks)
    assert placed(result) == {1: 2}


def test_fixed_visits_stay_with_their_collector_and_open_the_route():
    # Visit 1 sits next to collector 2's home, but collector 1 already made it this morning.
    tasks = [task(1, 8_000, 0), task(2, 200, 0), task(3, 8_100, 100)]
    a = collector(1, fixed_visit_ids=(1,))
    b = collector(2, 8_000, 200)
    result = run([a, b], tasks)
    route_a = next(r for r in result.routes if r.collector_id == 1)
    assert route_a.stops[0].task_id == 1
    assert placed(result)[1] == 1


def test_a_fixed_visit_that_cannot_have_happened_is_reported_not_routed():
    tasks = [task(1, 500, 0, windows=[(6 * 3600, 7 * 3600)]), task(2, 300, 0)]
    result = run([collector(1, fixed_visit_ids=(1,))], tasks)
    assert dict(result.unassigned) == {1: "fixed_visit_infeasible"}
    assert placed(result) == {2: 1}


def test_high_priority_wins_when_capacity_is_short():
    ring = [(1_000, 0), (0, 1_000), (-1_000, 0), (0, -1_000)]
    tasks = [task(k + 1, n, e, priority=p) for k, ((n, e), p) in enumerate(zip(ring, (1, 10, 1, 10), strict=True))]
    result = run([collector(1, max_visits=2)], tasks)
    assert set(placed(result)) == {2, 4}


def test_mandatory_visit_is_made_even_when_it_is_worth_less():
    tasks = [task(1, 300, 0, priority=10), task(2, 0, 3_000, priority=0.1, mandatory=True)]
    result = run([collector(1, max_visits=1)], tasks)
    assert placed(result) == {2: 1}


def test_impossible_visits_get_their_reason():
    tasks = [task(1, 200, 0, windows=[(20 * 3600, 21 * 3600)]),  # evening only, shift ends 18:00
             task(2, 300_000, 0),  # 300 km away: ~15 h each way at city speed
             task(3, 100, 0, windows=[])]
    result = run([collector(1)], tasks)
    assert dict(result.unassigned) == {1: "outside_every_shift_window", 2: "too_far",
                                       3: "outside_every_shift_window"}


@pytest.mark.parametrize("mandatory", [False, True])
def test_a_visit_with_several_windows_uses_one_it_can_reach(mandatory):
    early = (6 * 3600, 7 * 3600)  # before the shift: unreachable
    windows = [early, (10 * 3600, 10 * 3600 + 900), (15 * 3600, 16 * 3600)]
    tasks = [task(1, 500, 0, windows=windows, mandatory=mandatory), task(2, 0, 400)]
    result = run([collector(1)], tasks)
    arrival = stop(result, 1).arrival_s
    assert 10 * 3600 <= arrival <= 10 * 3600 + 900 or 15 * 3600 <= arrival <= 16 * 3600


def random_day(seed: int, n_collectors: int = 8, n_tasks: int = 150):
    rng = random.Random(seed)
    collectors = [collector(k, rng.uniform(-8e3, 8e3), rng.uniform(-8e3, 8e3), max_visits=10,
                            skills=frozenset({"legal"}) if k % 3 == 0 else frozenset(),
                            team_size=2 if k % 4 == 1 else 1) for k in range(1, n_collectors + 1)]
    windows = [[OPEN], [OPEN], [OPEN], [(9 * 3600, 11 * 3600)], [(9 * 3600, 10 * 3600), (15 * 3600, 16 * 3600)]]
    tasks = [task(k, rng.uniform(-10e3, 10e3), rng.uniform(-10e3, 10e3), windows=rng.choice(windows),
                  priority=rng.uniform(0.5, 10), mandatory=rng.random() < 0.03,
                  required_skills=frozenset({"legal"}) if rng.random() < 0.1 else frozenset(),
                  min_team=2 if rng.random() < 0.05 else 1) for k in range(1, n_tasks + 1)]
    return collectors, tasks


@pytest.mark.parametrize("planner", [None, plan_greedy], ids=["pyvrp", "greedy"])
def test_a_busy_day_breaks_no_constraint(planner):
    collectors, tasks = random_day(5)
    result = run(collectors, tasks, seconds=1.0, planner=planner)
    assert len(placed(result)) + len(result.unassigned) == len(tasks)
    assert 40 <= len(placed(result)) <= 80


def test_planner_beats_the_greedy_baseline_on_distance():
    collectors, tasks = random_day(9)
    ours, base = run(collectors, tasks, seconds=1.0), run(collectors, tasks, planner=plan_greedy)
    km = [sum(r.distance_m for r in res.routes) / max(1, len(placed(res))) for res in (ours, base)]
    assert km[0] < km[1]


def test_progress_is_reported_and_empty_days_do_not_crash():
    seen: list[float] = []
    collectors, tasks = random_day(2, n_collectors=2, n_tasks=10)
    m = matrices_for(collectors, tasks)
    plan(collectors, tasks, time_limit_s=0.2, detour_factor=DETOUR, speed_mps=SPEED, matrices=m,
         progress=seen.append)
    assert seen and all(0.0 <= f <= 1.0 for f in seen)
    assert run(collectors, []).routes == []
    assert {why for _, why in run([], tasks).unassigned} == {"no_collector"}


# --- validate ---------------------------------------------------------------------------------

def test_validate_catches_a_hand_broken_route():
    tasks = [task(1, 500, 0, windows=[(14 * 3600, 15 * 3600)]), task(2, -500, 0), task(3, 0, 700)]
    collectors = [collector(1, max_visits=2, fixed_visit_ids=(3,)), collector(2, 0, 300)]
    m = matrices_for(collectors, tasks)
    result = plan(collectors, tasks, time_limit_s=0.3, detour_factor=DETOUR, speed_mps=SPEED, matrices=m)
    assert validate(collectors, tasks, result, m) == []

    over = make_route(0, collectors[0], [2, 0, 1], tasks, *m)  # three visits for max_visits=2
    moved = make_route(1, collectors[1], [2], tasks, *m)  # fixed visit 3 again, on collector 2
    over.stops[1].arrival_s = 16 * 3600  # visit 1 reported after its window
    problems = "\n".join(validate(collectors, tasks, dataclasses.replace(result, routes=[over, moved]), m))
    assert "task 3: duplicate" in problems
    assert "task 3: fixed visit moved off collector 1" in problems
    assert "collector 1: capacity exceeded (3 > 2)" in problems
    assert "task 1: reported arrival outside its windows" in problems


def test_validate_catches_shift_skill_and_team_breaches():
    tasks = [task(1, 40_000, 0, required_skills=frozenset({"legal"}), min_team=2)]
    c = collector(1)
    m = matrices_for([c], tasks)
    result = plan_greedy([c], tasks, detour_factor=DETOUR, speed_mps=SPEED, matrices=m)
    assert result.routes == []
    forced = dataclasses.replace(result, routes=[make_route(0, c, [0], tasks, *m)])
    problems = "\n".join(validate([c], tasks, forced, m))
    assert "skill mismatch" in problems and "team mismatch" in problems
    short = dataclasses.replace(c, shift_end_s=c.shift_start_s + 600)
    assert any("shift exceeded" in p for p in validate([short], tasks, forced, m))
