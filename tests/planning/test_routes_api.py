"""Reading routes: list, one route, GeoJSON without the start point, ownership, bad plan input, jobs."""
from __future__ import annotations

import json
import random

import sqlalchemy as sa

from backend.auth.models import Role
from backend.jobs.models import BackgroundJob
from backend.planning.models import Route
from backend.policy.defaults import DEFAULTS
from backend.visits.models import Visit, VisitStatus
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

NEAR = [(30.66, 104.07), (30.662, 104.075), (30.655, 104.068)]
FAR_HOME = {"lat": 30.70, "lon": 104.00}


def _planned(plan, create_user, make_visit, n=3, **user_fields):
    user = create_user(Role.COLLECTOR, home=FAR_HOME, **user_fields)
    for lat, lon in NEAR[:n]:
        make_visit(lat=lat, lon=lon)
    response = plan(collector_ids=[user.id])
    assert response.status_code == 200
    return user, response.json["routes"][0]


def test_list_and_read_routes(client, as_role, plan, create_user, make_visit):
    user, route = _planned(plan, create_user, make_visit)
    _, headers = as_role(Role.DISPATCHER)
    listed = client.get(f"/api/v1/routes?date={plan_day().isoformat()}&collector_id={user.id}", headers=headers)
    assert [r["id"] for r in listed.json["items"]] == [route["id"]]
    one = client.get(f"/api/v1/routes/{route['id']}", headers=headers)
    assert one.json["stops"] == route["stops"]
    assert client.get("/api/v1/routes/999999", headers=headers).status_code == 404


def test_geojson_line_runs_through_the_stops_never_the_start(client, as_role, plan, create_user, make_visit):
    _, route = _planned(plan, create_user, make_visit)
    _, headers = as_role(Role.DISPATCHER)
    response = client.get(f"/api/v1/routes/{route['id']}.geojson", headers=headers)
    assert response.status_code == 200
    features = response.json["features"]
    line, stops = features[0], features[1:]
    assert line["geometry"]["type"] == "LineString"
    expected = [[s["lon"], s["lat"]] for s in route["stops"]]
    assert [[round(c, 6) for c in xy] for xy in line["geometry"]["coordinates"]] == \
        [[round(c, 6) for c in xy] for xy in expected]
    assert [f["properties"]["sequence"] for f in stops] == [1, 2, 3]
    # The collector's start point (home here; lodging when declared) appears nowhere.
    points = line["geometry"]["coordinates"] + [f["geometry"]["coordinates"] for f in stops]
    assert [FAR_HOME["lon"], FAR_HOME["lat"]] not in points
    assert '"home"' not in json.dumps(response.json)


def test_single_stop_route_has_no_line(client, as_role, plan, create_user, make_visit):
    _, route = _planned(plan, create_user, make_visit, n=1)
    _, headers = as_role(Role.DISPATCHER)
    features = client.get(f"/api/v1/routes/{route['id']}.geojson", headers=headers).json["features"]
    assert [f["geometry"]["type"] for f in features] == ["Point"]


def test_collector_sees_own_route_only(client, plan, create_user, make_visit, auth_headers):
    user, route = _planned(plan, create_user, make_visit)
    other = create_user(Role.COLLECTOR)
    mine, theirs = auth_headers(user), auth_headers(other)
    assert client.get(f"/api/v1/routes/{route['id']}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/routes/{route['id']}.geojson", headers=mine).status_code == 200
    assert client.get(f"/api/v1/routes/{route['id']}", headers=theirs).status_code == 404
    assert client.get(f"/api/v1/routes/{route['id']}.geojson", headers=theirs).status_code == 404
    assert client.get(f"/api/v1/routes?collector_id={user.id}", headers=theirs).status_code == 403
    assert client.get("/api/v1/routes", headers=theirs).json["items"] == []


def test_collectors_and_tracers_cannot_plan(client, as_role):
    for role in (Role.COLLECTOR, Role.TRACER):
        _, headers = as_role(role)
        response = client.post("/api/v1/routes/plan", json={"date": plan_day().isoformat()}, headers=headers)
        assert response.status_code == 403


def test_plan_bad_input(client, as_role, create_user, plan):
    dispatcher = create_user(Role.DISPATCHER)
    assert plan(collector_ids=[999999]).json["error"]["fields"] == {"collector_ids": "unknown collector"}
    assert plan(collector_ids=[999999]).status_code == 404
    assert plan(visit_ids=[999999]).json["error"]["fields"] == {"visit_ids": "unknown visit"}
    response = plan(collector_ids=[dispatcher.id])
    assert (response.status_code, list(response.json["error"]["fields"])) == (422, ["collector_ids"])
    assert "collector_ids.0" in plan(collector_ids=["x"]).json["error"]["fields"]
    _, headers = as_role(Role.DISPATCHER)
    missing = client.post("/api/v1/routes/plan", json={}, headers=headers)
    assert (missing.status_code, list(missing.json["error"]["fields"])) == (422, ["date"])
    bad_date = client.post("/api/v1/routes/plan", json={"date": "tomorrow"}, headers=headers)
    assert "date" in bad_date.json["error"]["fields"]
    malformed = client.post("/api/v1/routes/plan", data="{", headers={**headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400


def test_large_plan_runs_as_a_job(client, as_role, plan, create_user, make_visit, monkeypatch, run_worker,
                                  session):
    monkeypatch.setitem(DEFAULTS, "routing.sync_max_visits", 2)
    # RQ job ids (bg-<row id>) are not namespaced per test database: start ours where no run has been.
    session.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})
    user = create_user(Role.COLLECTOR)
    visits = [make_visit(lat=lat, lon=lon) for lat, lon in NEAR]
    session.commit()
    response = plan(collector_ids=[user.id])
    assert response.status_code == 202
    job_id = response.json["job_id"]
    assert response.json["poll"] == f"/api/v1/jobs/{job_id}"
    assert session.get(BackgroundJob, job_id).queue == "planning"
    run_worker()
    _, headers = as_role(Role.SUPERVISOR)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json
    assert (job["status"], job["progress"]) == ("done", 1.0)
    assert job["result"]["stats"]["visits_assigned"] == 3
    route = session.scalar(sa.select(Route).where(Route.collector_id == user.id))
    assert job["result"]["routes"][0]["id"] == route.id
    assert {session.get(Visit, v.id).status for v in visits} == {VisitStatus.ASSIGNED}
    assert assert_plan_sound(session, plan_day()) == 3
