"""Re-plans keep the day stable: visits stay with their collector unless a move is needed or pays."""
from __future__ import annotations

import sqlalchemy as sa

from backend.auth.models import Role, User
from backend.planning.models import Route
from backend.routing.matrix import build_matrices
from backend.routing.schedule import Collector, VisitTask, validate
from backend.routing.solver import Standing, plan_stable
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitStatus
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

# Three neighbourhoods of Chengdu about 5 km apart; each collector lives in one.
HOMES = [(30.70, 104.02), (30.70, 104.08), (30.64, 104.05)]
OFFSETS = [(0.003, 0.0), (0.0, 0.004), (-0.003, 0.002)]


def _day(create_user, make_visit, **user_fields):
    users, visits = [], []
    for lat, lon in HOMES:
        users.append(create_user(Role.COLLECTOR, home={"lat": lat, "lon": lon}, **user_fields))
        visits.append([make_visit(lat=lat + dy, lon=lon + dx) for dy, dx in OFFSETS])
    return users, visits


def _holders(response) -> dict[int, int]:
    return {s["visit_id"]: r["collector_id"] for r in response.json["routes"] for s in r["stops"]}


def test_replan_with_one_collector_fewer_moves_only_that_collectors_visits(plan, create_user, make_visit, session):
    users, visits = _day(create_user, make_visit, max_visits_per_day=6)
    first = plan()
    assert first.status_code == 200
    before = _holders(first)
    assert all(before[v.id] == users[k].id for k in range(3) for v in visits[k])
    session.get(User, users[2].id).active = False  # the third collector drops out
    again = plan()
    assert again.status_code == 200
    after = _holders(again)
    for k in (0, 1):  # nobody else's visit moved
        assert all(after[v.id] == users[k].id for v in visits[k])
    orphans = {v.id for v in visits[2]}
    assert orphans <= set(after) and {after[v] for v in orphans} <= {users[0].id, users[1].id}
    moved = {m["visit_id"]: m for c in again.json["changes"] for m in c["moved"]}
    assert set(moved) == orphans  # each move reported, with where from, where to and why
    for vid, move in moved.items():
        assert (move["from_collector_id"], move["to_collector_id"]) == (users[2].id, after[vid])
        assert move["reason"] == "collector_not_in_plan"
    assert assert_plan_sound(session, plan_day()) == 9
    assert {session.get(Visit, v).collector_id for v in orphans} <= {users[0].id, users[1].id}


def test_dropped_collectors_visits_go_back_to_the_pool_when_nobody_has_room(plan, create_user, make_visit,
                                                                            session):
    users, visits = _day(create_user, make_visit, max_visits_per_day=3)
    plan()
    session.get(User, users[2].id).active = False
    again = plan()
    after = _holders(again)
    assert all(after[v.id] == users[k].id for k in (0, 1) for v in visits[k])
    removed = {r["visit_id"] for c in again.json["changes"] for r in c["removed"]}
    assert removed == {v.id for v in visits[2]}
    assert {session.get(Visit, v.id).status for v in visits[2]} == {VisitStatus.SCHEDULED}
    assert session.scalar(sa.select(sa.func.count()).select_from(Route).where(Route.collector_id == users[2].id)) == 0


def test_version_grows_only_when_the_route_changes(plan, create_user, make_visit, session, client, auth_headers):
    users, visits = _day(create_user, make_visit, max_visits_per_day=6)
    first = plan()
    versions = {r["collector_id"]: r["version"] for r in first.json["routes"]}
    assert set(versions.values()) == {1}
    unchanged = plan()
    assert {r["collector_id"]: r["version"] for r in unchanged.json["routes"]} == versions
    assert unchanged.json["changes"] == []
    session.get(User, users[2].id).active = False
    again = plan()
    grown = {r["collector_id"]: r["version"] for r in again.json["routes"]}
    gainers = {c["collector_id"] for c in again.json["changes"] if c["moved"]} - {users[2].id}
    for cid in (users[0].id, users[1].id):
        assert grown[cid] == (2 if cid in gainers else 1)
    day = plan_day().isoformat()
    mine = client.get(f"/api/v1/me/route?date={day}", headers=auth_headers(session.get(User, users[0].id)))
    assert mine.json["version"] == grown[users[0].id]


def test_fresh_plan_on_request_may_reassign(plan, create_user, make_visit):
    create_user(Role.COLLECTOR)
    make_visit()
    assert plan().status_code == 200
    fresh = plan(keep_assignments=False)
    assert fresh.status_code == 200 and fresh.json["solver"] == "pyvrp-0.14"
    assert plan().json["solver"] == "pyvrp-0.14+stable"


# The engine itself, on plain data: a move only when it saves more than it costs.

def _engine_day():
    west, east = Collector(1, 30.66, 104.00, 30_000, 70_000, 10), Collector(2, 30.66, 104.10, 30_000, 70_000, 10)
    day = [(0, 36_000, 60_000)]
    tasks = [VisitTask(11, 30.661, 104.001, 600, [day[0][1:]], 1.0),
             VisitTask(12, 30.662, 104.003, 600, [day[0][1:]], 1.0),
             # Held by the west collector but beside the east one's start: 20 km of detour.
             VisitTask(21, 30.661, 104.099, 600, [day[0][1:]], 1.0),
             VisitTask(22, 30.663, 104.098, 600, [day[0][1:]], 1.0)]
    standing = Standing(order={1: [11, 12, 21], 2: [22]})
    points = [(c.lat, c.lon) for c in (west, east)] + [(t.lat, t.lon) for t in tasks]
    return [west, east], tasks, standing, build_matrices(points, detour_factor=1.3, speed_mps=7.0)


def _run(move_cost_m):
    collectors, tasks, standing, matrices = _engine_day()
    out = plan_stable(collectors, tasks, standing, time_limit_s=0.3, move_cost_m=move_cost_m, detour_factor=1.3,
                      speed_mps=7.0, matrices=matrices)
    assert validate(collectors, tasks, out.result, matrices) == []
    return out, {s.task_id: r.collector_id for r in out.result.routes for s in r.stops}


def test_a_move_that_saves_more_than_its_cost_is_made_and_said():
    out, holders = _run(move_cost_m=1_000)
    assert holders == {11: 1, 12: 1, 21: 2, 22: 2}
    assert out.moves == {21: "saves_distance"} and out.saved_m[21] > 1_000


def test_a_move_that_saves_less_than_its_cost_is_not_made():
    out, holders = _run(move_cost_m=100_000)
    assert holders == {11: 1, 12: 1, 21: 1, 22: 2}
    assert out.moves == {}


def test_a_dispatchers_stop_move_raises_both_versions(plan, create_user, make_visit, client, as_role):
    users, visits = _day(create_user, make_visit, max_visits_per_day=6)
    routes = {r["collector_id"]: r for r in plan().json["routes"]}
    _, headers = as_role(Role.DISPATCHER)
    source = routes[users[0].id]
    moved = client.post(f"/api/v1/routes/{source['id']}/stops/{visits[0][0].id}/move",
                        json={"collector_id": users[1].id}, headers=headers)
    assert moved.status_code == 200
    assert {r["collector_id"]: r["version"] for r in moved.json["routes"]} == {users[0].id: 2, users[1].id: 2}


def test_a_done_visit_on_the_route_does_not_raise_the_version_of_every_replan(plan, create_user, make_visit,
                                                                             session):
    """The route's version compares its open stops: the visits already made lead every re-plan."""
    users, _ = _day(create_user, make_visit, max_visits_per_day=6)
    done = session.get(Visit, plan().json["routes"][0]["stops"][0]["visit_id"])
    done.status, done.finished_at = VisitStatus.DONE, utcnow()
    session.flush()
    for _ in range(2):
        again = plan()
        assert {r["collector_id"]: r["version"] for r in again.json["routes"]} == {u.id: 1 for u in users}
        assert again.json["changes"] == []


def test_a_new_mandatory_visit_may_displace_one_without_a_standing_collector_to_name():
    west = Collector(1, 30.66, 104.00, 30_000, 70_000, 2)
    window = [(36_000, 60_000)]
    tasks = [VisitTask(11, 30.661, 104.001, 600, window, 1.0), VisitTask(12, 30.662, 104.003, 600, window, 1.0),
             VisitTask(31, 30.663, 104.002, 600, window, 5.0, mandatory=True)]
    matrices = build_matrices([(west.lat, west.lon)] + [(t.lat, t.lon) for t in tasks], detour_factor=1.3,
                              speed_mps=7.0)
    out = plan_stable([west], tasks, Standing(order={1: [11, 12]}), time_limit_s=0.3, move_cost_m=1_000,
                      detour_factor=1.3, speed_mps=7.0, matrices=matrices)
    assert 31 in {s.task_id for r in out.result.routes for s in r.stops}
    assert [why for _, why in out.result.unassigned] == ["displaced_by_priority"]
    assert 31 not in out.moves  # it was nobody's: it did not leave anyone
