"""Moving a stop to another collector: both routes re-timed, rule-breaking moves refused with the reason."""
from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.planning.models import Route
from backend.visits.models import Visit, VisitStatus
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

WEST = [(30.66, 104.03), (30.662, 104.035), (30.658, 104.032)]
EAST = [(30.66, 104.11), (30.663, 104.115)]


def _two_routes(plan, create_user, make_visit, *, east_fields=None):
    west = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.02})
    east = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.12}, **(east_fields or {}))
    for lat, lon in WEST + EAST:
        make_visit(lat=lat, lon=lon)
    response = plan(collector_ids=[west.id, east.id])
    assert response.status_code == 200, response.json
    routes = {r["collector_id"]: r for r in response.json["routes"]}
    return west, east, routes


def _move(client, headers, route_id, visit_id, collector_id):
    return client.post(f"/api/v1/routes/{route_id}/stops/{visit_id}/move", json={"collector_id": collector_id},
                       headers=headers)


def test_move_retimes_both_routes(client, session, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit)
    source = routes[west.id]
    moved = source["stops"][-1]["visit_id"]
    _, headers = as_role(Role.DISPATCHER)
    response = _move(client, headers, source["id"], moved, east.id)
    assert response.status_code == 200, response.json
    after = {r["collector_id"]: r for r in response.json["routes"]}
    assert moved not in [s["visit_id"] for s in after[west.id]["stops"]]
    assert moved in [s["visit_id"] for s in after[east.id]["stops"]]
    assert len(after[east.id]["stops"]) == len(routes[east.id]["stops"]) + 1
    assert after[west.id]["distance_m"] < source["distance_m"]
    assert [s["sequence"] for s in after[east.id]["stops"]] == list(range(1, len(after[east.id]["stops"]) + 1))
    visit = session.get(Visit, moved)
    session.refresh(visit)
    assert (visit.status, visit.collector_id, visit.scheduled_date) == (VisitStatus.ASSIGNED, east.id, plan_day())
    assert assert_plan_sound(session, plan_day()) == len(WEST) + len(EAST)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "routes.move_stop")) == 1


def test_move_to_a_collector_without_a_route_creates_one(client, session, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit)
    idle = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.05})
    _, headers = as_role(Role.DISPATCHER)
    moved = routes[west.id]["stops"][0]["visit_id"]
    response = _move(client, headers, routes[west.id]["id"], moved, idle.id)
    assert response.status_code == 200, response.json
    new = next(r for r in response.json["routes"] if r["collector_id"] == idle.id)
    assert [s["visit_id"] for s in new["stops"]] == [moved]
    assert session.scalar(sa.select(sa.func.count()).select_from(Route).where(Route.collector_id == idle.id)) == 1


def test_move_beyond_capacity_is_refused_with_the_reason(client, session, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit, east_fields={"max_visits_per_day": 2})
    _, headers = as_role(Role.DISPATCHER)
    before = {r.id: (r.distance_m, r.duration_s) for r in session.scalars(sa.select(Route))}
    response = _move(client, headers, routes[west.id]["id"], routes[west.id]["stops"][0]["visit_id"], east.id)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "move_refused"
    assert response.json["error"]["reason"] == "capacity_exceeded"
    session.expire_all()
    assert {r.id: (r.distance_m, r.duration_s) for r in session.scalars(sa.select(Route))} == before


def test_move_of_a_two_person_visit_to_a_solo_collector_is_refused(client, session, as_role, plan, create_user,
                                                                    make_visit):
    west = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.02}, team_size=2)
    solo = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.12})
    visit = make_visit(lat=30.66, lon=104.03)
    visit.requires_two = True
    make_visit(lat=30.66, lon=104.11)
    response = plan(collector_ids=[west.id, solo.id])
    routes = {r["collector_id"]: r for r in response.json["routes"]}
    _, headers = as_role(Role.DISPATCHER)
    refused = _move(client, headers, routes[west.id]["id"], visit.id, solo.id)
    assert refused.status_code == 409
    assert refused.json["error"]["reason"] == "crew_required"


def test_move_needs_a_stop_of_that_route_and_a_real_collector(client, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit)
    _, headers = as_role(Role.DISPATCHER)
    east_visit = routes[east.id]["stops"][0]["visit_id"]
    assert _move(client, headers, routes[west.id]["id"], east_visit, east.id).status_code == 404
    assert _move(client, headers, 999999, east_visit, east.id).status_code == 404
    unknown = _move(client, headers, routes[west.id]["id"], routes[west.id]["stops"][0]["visit_id"], 999999)
    assert unknown.status_code == 404
    bad = client.post(f"/api/v1/routes/{routes[west.id]['id']}/stops/{east_visit}/move", json={"collector_id": "x"},
                      headers=headers)
    assert bad.status_code == 422 and "collector_id" in bad.json["error"]["fields"]
    same = _move(client, headers, routes[west.id]["id"], routes[west.id]["stops"][0]["visit_id"], west.id)
    assert same.status_code == 409 and same.json["error"]["reason"] == "same_collector"


def test_collectors_may_not_move_stops(client, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit)
    _, headers = as_role(Role.COLLECTOR)
    response = _move(client, headers, routes[west.id]["id"], routes[west.id]["stops"][0]["visit_id"], east.id)
    assert response.status_code == 403


def _pin(client, headers, visit_id, collector_id):
    response = client.post(f"/api/v1/visits/{visit_id}/pin", json={"collector_id": collector_id}, headers=headers)
    assert response.status_code == 200, response.json
    return response


def test_a_pinned_visit_moves_only_to_its_pinned_collector(client, session, as_role, plan, create_user, make_visit):
    west, east, routes = _two_routes(plan, create_user, make_visit)
    _, headers = as_role(Role.DISPATCHER)
    moved = routes[west.id]["stops"][0]["visit_id"]
    _pin(client, headers, moved, west.id)
    before = {r.id: (r.version, r.distance_m, [s.visit_id for s in r.stops]) for r in session.scalars(sa.select(Route))}
    refused = _move(client, headers, routes[west.id]["id"], moved, east.id)
    assert refused.status_code == 409
    error = refused.json["error"]
    assert (error["code"], error["reason"], error["pinned_collector_id"]) == ("move_refused", "pinned", west.id)
    assert f"pinned to collector {west.id}" in error["message"]
    session.expire_all()
    assert {r.id: (r.version, r.distance_m, [s.visit_id for s in r.stops])
            for r in session.scalars(sa.select(Route))} == before
    assert session.get(Visit, moved).collector_id == west.id
    # Pinned to the collector it goes to, the move keeps the pin: it goes.
    _pin(client, headers, moved, east.id)
    allowed = _move(client, headers, routes[west.id]["id"], moved, east.id)
    assert allowed.status_code == 200, allowed.json
    assert moved in [s["visit_id"] for r in allowed.json["routes"] if r["collector_id"] == east.id
                     for s in r["stops"]]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "routes.move_stop")) == 1


def test_a_moved_stop_goes_where_it_adds_least(client, as_role, plan, create_user, make_visit):
    """The target's stops lie north and south of its home; the moved stop lies between them and the
    home, so going there between the two adds less than before the first or after the last."""
    west = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.02})
    east = create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.12})
    _, headers = as_role(Role.DISPATCHER)
    north, south = make_visit(lat=30.70, lon=104.12), make_visit(lat=30.62, lon=104.12)
    middle = make_visit(lat=30.66, lon=104.10)
    for visit, holder in ((north, east), (south, east), (middle, west)):
        _pin(client, headers, visit.id, holder.id)
    routes = {r["collector_id"]: r for r in plan(collector_ids=[west.id, east.id]).json["routes"]}
    assert sorted(s["visit_id"] for s in routes[east.id]["stops"]) == sorted([north.id, south.id])
    assert client.delete(f"/api/v1/visits/{middle.id}/pin", headers=headers).status_code == 200
    response = _move(client, headers, routes[west.id]["id"], middle.id, east.id)
    assert response.status_code == 200, response.json
    after = next(r for r in response.json["routes"] if r["collector_id"] == east.id)
    assert [s["visit_id"] for s in after["stops"]][1] == middle.id
    assert response.json["removed_route_ids"] == [routes[west.id]["id"]]


def test_a_pinned_visit_sent_to_no_collector_is_told_so_before_the_pin(client, as_role, plan, create_user,
                                                                       make_visit):
    """Input first, rules after: a move naming an unknown or non-collector user answers 404 / 422 naming
    collector_id (as assign and pin do), pinned visit or not; only a real collector meets the pin's 409."""
    west, east, routes = _two_routes(plan, create_user, make_visit)
    _, headers = as_role(Role.DISPATCHER)
    moved = routes[west.id]["stops"][0]["visit_id"]
    _pin(client, headers, moved, west.id)
    dispatcher = create_user(Role.DISPATCHER)
    for collector_id, status in ((999999, 404), (dispatcher.id, 422)):
        response = _move(client, headers, routes[west.id]["id"], moved, collector_id)
        assert (response.status_code, list(response.json["error"]["fields"])) == (status, ["collector_id"])
    assert _move(client, headers, routes[west.id]["id"], moved, east.id).json["error"]["reason"] == "pinned"
