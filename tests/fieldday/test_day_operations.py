"""A dispatcher's day: no duplicate requests, /visits filters, unknown parameters refused, the day's map."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.auth.models import Role
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.visits.conftest import plan_day


def _request(client, headers, case_id, kind="confirm"):
    return client.post("/api/v1/visits", json={"case_id": case_id, "kind": kind}, headers=headers)


def test_a_second_open_request_of_the_same_kind_is_409_naming_the_open_one(client, create_case, dispatcher,
                                                                          create_user):
    create_user(Role.COLLECTOR)
    case = create_case()
    first = _request(client, dispatcher[1], case.id)
    assert first.status_code == 201
    again = _request(client, dispatcher[1], case.id)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate_visit"
    assert again.json["error"]["visit_id"] == first.json["id"]
    assert str(first.json["id"]) in again.json["error"]["message"]
    assert _request(client, dispatcher[1], case.id, kind="locate").status_code == 201  # another kind is fine
    client.post(f"/api/v1/visits/{first.json['id']}/cancel", json={"reason": "sent by mistake"}, headers=dispatcher[1])
    assert _request(client, dispatcher[1], case.id).status_code == 201  # none open any more


def test_visits_filter_by_case_and_overdue(client, session, make_visit, dispatcher, create_case):
    case = create_case()
    mine = make_visit(case=case)
    late = make_visit()
    late.due_by = utcnow() - timedelta(hours=1)
    done_late = make_visit(VisitStatus.DONE)
    done_late.due_by = utcnow() - timedelta(hours=1)
    session.flush()
    by_case = client.get(f"/api/v1/visits?case_id={case.id}", headers=dispatcher[1]).json
    assert [v["id"] for v in by_case["items"]] == [mine.id]
    overdue = client.get("/api/v1/visits?overdue=true&page_size=1000", headers=dispatcher[1]).json["items"]
    assert late.id in [v["id"] for v in overdue]
    assert mine.id not in [v["id"] for v in overdue] and done_late.id not in [v["id"] for v in overdue]
    on_time = client.get("/api/v1/visits?overdue=false&page_size=1000", headers=dispatcher[1]).json["items"]
    assert mine.id in [v["id"] for v in on_time] and late.id not in [v["id"] for v in on_time]


def test_an_unknown_query_parameter_is_422_naming_it(client, dispatcher, make_visit):
    response = client.get("/api/v1/visits?case=1&status=requested", headers=dispatcher[1])
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"case": "unknown query parameter"}
    visit = make_visit()
    # An endpoint that takes no query parameter at all refuses one too.
    response = client.get(f"/api/v1/visits/{visit.id}?verbose=1", headers=dispatcher[1])
    assert (response.status_code, list(response.json["error"]["fields"])) == (422, ["verbose"])
    assert client.get("/api/v1/visits?case_id=1&page=1&page_size=5", headers=dispatcher[1]).status_code == 200


def test_the_days_routes_in_one_feature_collection(client, session, dispatcher, as_role, make_visit, store_route):
    day = plan_day()
    first, second = as_role(Role.COLLECTOR)[0], as_role(Role.COLLECTOR)[0]
    routes = [store_route(c, day, [make_visit(VisitStatus.ASSIGNED, collector=c, day=day) for _ in range(2)])
              for c in (first, second)]
    store_route(as_role(Role.COLLECTOR)[0], day + timedelta(days=1), [make_visit()])  # another day: not shown
    session.execute(sa.text("UPDATE routes SET path = geography(ST_MakeLine(ARRAY(SELECT geometry(location) "
                            "FROM route_stops s WHERE s.route_id = routes.id ORDER BY sequence)))"))
    response = client.get(f"/api/v1/routes.geojson?date={day.isoformat()}", headers=dispatcher[1])
    assert response.status_code == 200
    body = response.json
    assert (body["type"], body["total"], body["page"]) == ("FeatureCollection", 2, 1)
    lines = [f for f in body["features"] if f["properties"]["kind"] == "route"]
    stops = [f for f in body["features"] if f["properties"]["kind"] == "stop"]
    assert sorted(f["properties"]["route_id"] for f in lines) == sorted(r.id for r in routes)
    paged = client.get(f"/api/v1/routes.geojson?date={day.isoformat()}&page=2&page_size=1", headers=dispatcher[1]).json
    assert {f["properties"]["route_id"] for f in paged["features"]} == {max(routes, key=lambda r: r.collector_id).id}
    assert len(stops) == 4 and {s["properties"]["route_id"] for s in stops} == {r.id for r in routes}
    # Sealed: every line vertex is a stop; no home or lodging leg.
    stop_points = {tuple(s["geometry"]["coordinates"]) for s in stops}
    assert all(tuple(point) in stop_points for line in lines for point in line["geometry"]["coordinates"])
    home = session.execute(sa.text("SELECT ST_X(geometry(home)), ST_Y(geometry(home)) FROM users WHERE id = :id"),
                           {"id": first.id}).one()
    assert [round(v, 6) for v in home] not in [[round(v, 6) for v in p] for p in stop_points]
    # Nor in the times: staff see the day walked from the first stop, never the collector's own ETAs
    # (they count the leg from home or lodging).
    shared = dict(session.execute(sa.text("SELECT visit_id, shared_eta FROM route_stops")).all())
    own = dict(session.execute(sa.text("SELECT visit_id, eta FROM route_stops")).all())
    for stop in stops:
        visit_id, eta = stop["properties"]["visit_id"], stop["properties"]["eta"]
        assert eta == (shared[visit_id].isoformat() if shared[visit_id] else None)
        assert own[visit_id] is None or eta != own[visit_id].isoformat()


def test_routes_geojson_needs_a_date_and_staff(client, dispatcher, collector):
    assert "date" in client.get("/api/v1/routes.geojson", headers=dispatcher[1]).json["error"]["fields"]
    assert client.get(f"/api/v1/routes.geojson?date={plan_day().isoformat()}", headers=collector[1]).status_code == 403
