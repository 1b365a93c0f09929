"""One system inside (WGS-84): GCJ-02/BD-09 converted on entry, and on the way out when asked."""
from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from backend import create_app
from backend.config import InvalidConfiguration, parse_settings
from backend.coords import CoordSys, from_wgs84, gcj02_to_wgs84
from backend.geo import point_latlon
from backend.safety.models import Checkin
from backend.visits.models import VisitStatus
from tests.factories import CENTRE
from tests.visits.conftest import daytime_zone, new_key

# CENTRE as an AMap phone reports it (GCJ-02) and as a Baidu map draws it (BD-09).
CENTRE_GCJ = from_wgs84(*CENTRE, "gcj02")
CENTRE_BD = from_wgs84(*CENTRE, "bd09")


def metres(a, b) -> float:
    return math.hypot((a[0] - b[0]) * 111_320, (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0])))


def _assigned(make_visit, user):
    return make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})


def _report(client, visit, headers, body):
    return client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                       headers={**headers, "Idempotency-Key": new_key()})


def test_outcome_in_gcj02_at_the_door_is_on_site_and_the_same_numbers_as_wgs84_are_not(
        client, collector, make_visit, outcome_body):
    user, headers = collector
    lat, lon = CENTRE_GCJ
    as_gcj = _report(client, _assigned(make_visit, user), headers, outcome_body(lat=lat, lon=lon, coord_sys="gcj02"))
    as_wgs = _report(client, _assigned(make_visit, user), headers, outcome_body(lat=lat, lon=lon, coord_sys="wgs84"))
    assert (as_gcj.status_code, as_wgs.status_code) == (201, 201)
    assert as_gcj.json["on_site"] is True and as_gcj.json["distance_m"] < 1
    assert as_wgs.json["on_site"] is False and as_wgs.json["distance_m"] > 300


def test_deployment_default_lets_an_amap_app_send_gcj02_without_saying(client, collector, make_visit,
                                                                      outcome_body, app, monkeypatch):
    monkeypatch.setitem(app.config, "DEFAULT_COORD_SYS", CoordSys.GCJ02)
    user, headers = collector
    response = _report(client, _assigned(make_visit, user), headers, outcome_body(lat=CENTRE_GCJ[0], lon=CENTRE_GCJ[1]))
    assert response.json["on_site"] is True


def test_an_unknown_deployment_default_stops_the_app_at_start_naming_the_setting():
    with pytest.raises(InvalidConfiguration, match="DEFAULT_COORD_SYS is 'wgs72'"):
        create_app({"TESTING": True, "DEFAULT_COORD_SYS": "wgs72",
                    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nowhere/none"})
    config = {"DEFAULT_COORD_SYS": " GCJ02 "}
    parse_settings(config)
    assert config["DEFAULT_COORD_SYS"] is CoordSys.GCJ02


def test_sync_outcome_in_bd09_is_converted_like_the_endpoint(client, collector, make_visit, outcome_body):
    user, headers = collector
    visit = _assigned(make_visit, user)
    event = {"idempotency_key": new_key(), "type": "outcome", "visit_id": visit.id,
             **outcome_body(lat=CENTRE_BD[0], lon=CENTRE_BD[1], coord_sys="bd09")}
    result = client.post("/api/v1/sync", json={"events": [event]}, headers=headers).json["results"][0]
    assert result["status"] == 201 and result["body"]["on_site"] is True


def test_checkin_in_gcj02_is_stored_in_wgs84(client, collector, session):
    _, headers = collector
    body = {"kind": "shift_start", "lat": CENTRE_GCJ[0], "lon": CENTRE_GCJ[1], "coord_sys": "gcj02",
            "recorded_at": "2026-12-07T01:00:00+00:00"}
    response = client.post("/api/v1/safety/checkins", json=body, headers=headers)
    assert response.status_code == 201, response.json
    stored = session.scalar(sa.select(Checkin).order_by(Checkin.id.desc()))
    assert metres(point_latlon(stored.location), CENTRE) < 0.05


def test_unknown_coord_sys_is_a_422_naming_it(client, collector, make_visit, outcome_body):
    user, headers = collector
    response = _report(client, _assigned(make_visit, user), headers, outcome_body(coord_sys="wgs72"))
    assert response.status_code == 422
    assert "coord_sys" in response.json["error"]["fields"]


def test_geojson_in_gcj02_round_trips_to_within_a_metre(client, as_role, make_visit):
    visit = make_visit(lat=30.6401, lon=104.0412)
    _, headers = as_role("dispatcher")
    plain = client.get("/api/v1/visits.geojson", headers=headers).json
    shifted = client.get("/api/v1/visits.geojson?coord_sys=gcj02", headers=headers).json
    lon, lat = next(f for f in shifted["features"] if f["id"] == visit.id)["geometry"]["coordinates"]
    wgs_lon, wgs_lat = next(f for f in plain["features"] if f["id"] == visit.id)["geometry"]["coordinates"]
    assert metres((lat, lon), (wgs_lat, wgs_lon)) > 300  # really drawn for an AMap base map
    assert metres(gcj02_to_wgs84(lat, lon), (30.6401, 104.0412)) < 1.0


def test_me_route_in_bd09(client, collector, make_visit):
    user, headers = collector
    visit = _assigned(make_visit, user)
    day = visit.scheduled_date.isoformat()
    stop = client.get(f"/api/v1/me/route?date={day}&coord_sys=bd09", headers=headers).json["stops"][0]
    assert metres((stop["address"]["lat"], stop["address"]["lon"]), CENTRE_BD) < 0.05
