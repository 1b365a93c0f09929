"""Listing visits: filters, bbox in PostGIS, GeoJSON, and collectors seeing only their own."""
from __future__ import annotations

from backend.auth.models import Role
from backend.visits.models import VisitStatus
from tests.visits.conftest import plan_day


def _ids(response):
    return {item["id"] for item in response.json["items"]}


def test_filters_by_status_kind_collector_and_date(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    user = create_user(Role.COLLECTOR)
    requested = make_visit(kind="locate")
    assigned = make_visit(VisitStatus.ASSIGNED, collector=user, kind="confirm")
    assert _ids(client.get("/api/v1/visits?status=requested", headers=headers)) >= {requested.id}
    assert assigned.id not in _ids(client.get("/api/v1/visits?status=requested", headers=headers))
    assert requested.id in _ids(client.get("/api/v1/visits?kind=locate", headers=headers))
    assert assigned.id not in _ids(client.get("/api/v1/visits?kind=locate", headers=headers))
    by_collector = client.get(f"/api/v1/visits?collector_id={user.id}", headers=headers)
    assert _ids(by_collector) == {assigned.id}
    by_date = client.get(f"/api/v1/visits?date={plan_day().isoformat()}&collector_id={user.id}", headers=headers)
    assert _ids(by_date) == {assigned.id}


def test_bbox_filter(client, as_role, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    inside = make_visit(lat=30.66, lon=104.07)
    outside = make_visit(lat=30.80, lon=104.20)
    found = _ids(client.get("/api/v1/visits?bbox=104.05,30.65,104.09,30.67&page_size=1000", headers=headers))
    assert inside.id in found
    assert outside.id not in found


def test_bad_bbox_and_status_are_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    for query in ("bbox=1,2,3", "bbox=104,31,103,30", "bbox=a,b,c,d", "bbox=0,91,1,92", "status=lost"):
        response = client.get(f"/api/v1/visits?{query}", headers=headers)
        assert response.status_code == 422, query
        assert set(response.json["error"]["fields"]) & {"bbox", "status"}


def test_open_filter_leaves_closed_visits_on_the_server(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    user = create_user(Role.COLLECTOR)
    requested = make_visit(kind="locate")
    assigned = make_visit(VisitStatus.ASSIGNED, collector=user, kind="confirm")
    in_progress = make_visit(VisitStatus.IN_PROGRESS, collector=user, kind="locate")
    closed = {make_visit(status, collector=user, kind="locate").id
              for status in (VisitStatus.DONE, VisitStatus.FAILED, VisitStatus.CANCELLED)}
    mine = {requested.id, assigned.id, in_progress.id} | closed

    def listed(query):
        visits = _ids(client.get(f"/api/v1/visits?{query}&page_size=1000", headers=headers)) & mine
        geojson = client.get(f"/api/v1/visits.geojson?{query}&page_size=1000", headers=headers).json
        assert {f["id"] for f in geojson["features"]} & mine == visits, query
        return visits

    assert listed("open=true") == {requested.id, assigned.id, in_progress.id}
    assert listed("open=false") == closed
    # With the other filters: they narrow the open ones, and a closed status asked for with open=true is none.
    assert listed("open=true&kind=locate") == {requested.id, in_progress.id}
    assert listed(f"open=true&collector_id={user.id}") == {assigned.id, in_progress.id}
    assert listed("open=true&status=assigned") == {assigned.id}
    assert listed("open=true&status=done") == set()
    assert listed(f"open=false&collector_id={user.id}&kind=locate") == closed
    total = client.get(f"/api/v1/visits.geojson?open=true&collector_id={user.id}", headers=headers).json["total"]
    assert total == 2
    assert client.get("/api/v1/visits?open=maybe", headers=headers).status_code == 422


def test_geojson_is_a_feature_collection_in_lon_lat(client, as_role, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    visit = make_visit(lat=30.6601, lon=104.0702)
    response = client.get("/api/v1/visits.geojson?bbox=104.06,30.65,104.08,30.67", headers=headers)
    assert response.status_code == 200
    assert response.json["type"] == "FeatureCollection"
    feature = next(f for f in response.json["features"] if f["id"] == visit.id)
    assert feature["geometry"] == {"type": "Point", "coordinates": [104.0702, 30.6601]}
    assert feature["properties"]["status"] == "requested"


def test_geojson_empty_collection(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/visits.geojson?bbox=10,10,10.001,10.001", headers=headers)
    assert response.json == {"type": "FeatureCollection", "features": [], "total": 0, "page": 1, "page_size": 100}


def test_collector_sees_only_own_visits(client, create_user, collector, make_visit):
    me, headers = collector
    other = create_user(Role.COLLECTOR)
    mine = make_visit(VisitStatus.ASSIGNED, collector=me)
    theirs = make_visit(VisitStatus.ASSIGNED, collector=other)
    unassigned = make_visit()
    assert _ids(client.get("/api/v1/visits", headers=headers)) == {mine.id}
    geo = client.get("/api/v1/visits.geojson", headers=headers).json
    assert {f["id"] for f in geo["features"]} == {mine.id}
    assert client.get(f"/api/v1/visits?collector_id={other.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/visits/{theirs.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/visits/{unassigned.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/visits/{mine.id}", headers=headers).status_code == 200


def test_tracer_cannot_list_visits(client, as_role):
    _, headers = as_role(Role.TRACER)
    assert client.get("/api/v1/visits", headers=headers).status_code == 403
