"""Bad safety input: 422 naming the field, never a 500."""
from __future__ import annotations

import sqlalchemy as sa

from backend.safety.models import Lodging


def test_lodging_check_in_outside_the_calendar_we_compute_with_is_422(client, collector, session):
    user, headers = collector
    body = {"name": "如家", "lat": 30.6571, "lon": 104.0658, "check_in": "9999-12-31T23:59:59+00:00"}
    response = client.post("/api/v1/safety/lodgings", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"check_in"}
    assert session.scalar(sa.select(sa.func.count()).where(Lodging.collector_id == user.id)) == 0


def test_checkin_visit_id_beyond_an_integer_column_is_422(client, collector):
    _, headers = collector
    body = {"kind": "arrived", "lat": 30.6571, "lon": 104.0658, "recorded_at": "2026-11-23T10:00:00+08:00",
            "visit_id": 2**31}
    response = client.post("/api/v1/safety/checkins", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"visit_id"}


def test_collector_filters_beyond_an_integer_column_are_422(client, dispatcher):
    _, headers = dispatcher
    for path in ("/api/v1/safety/lodgings", "/api/v1/safety/alerts"):
        response = client.get(path, query_string={"collector_id": 2**31}, headers=headers)
        assert response.status_code == 422, path
        assert set(response.json["error"]["fields"]) == {"collector_id"}
