"""Bad visit input: 422 naming the field (or the event's field in /sync results), never a 500."""
from __future__ import annotations

import sqlalchemy as sa

from backend.auth.models import Role
from backend.visits.models import Visit, VisitStatus
from tests.visits.conftest import new_key


def test_case_id_beyond_an_integer_column_is_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/visits", json={"case_id": 2**31, "kind": "confirm"}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"case_id"}


def test_window_outside_the_calendar_we_store_is_422_and_stores_nothing(client, as_role, create_case, session):
    _, headers = as_role(Role.DISPATCHER)
    case = create_case()
    for start in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        response = client.post("/api/v1/visits", json={"case_id": case.id, "kind": "confirm", "window_start": start},
                               headers=headers)
        assert response.status_code == 422, start
        assert set(response.json["error"]["fields"]) == {"window_start"}
    assert session.scalar(sa.select(sa.func.count()).where(Visit.case_id == case.id)) == 0


def test_assign_to_a_collector_id_beyond_an_integer_column_is_422(client, as_role, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    visit = make_visit()
    response = client.post(f"/api/v1/visits/{visit.id}/assign", json={"collector_id": 2**31, "date": "2026-12-01"},
                           headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"collector_id"}


def test_list_filters_beyond_the_database_are_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    for name, value in (("collector_id", 2**31), ("page", 10**19)):
        response = client.get("/api/v1/visits", query_string={name: value}, headers=headers)
        assert response.status_code == 422, name
        assert set(response.json["error"]["fields"]) == {name}


def test_sync_event_whose_type_is_not_text_is_a_422_result(client, collector, make_visit, outcome_body):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user)
    event = {"idempotency_key": new_key(), "type": [], "visit_id": visit.id, **outcome_body()}
    response = client.post("/api/v1/sync", json={"events": [event]}, headers=headers)
    assert response.status_code == 200
    result = response.json["results"][0]
    assert result["status"] == 422 and set(result["error"]["fields"]) == {"type"}


def test_sync_event_whose_key_is_a_number_is_a_422_result(client, collector, make_visit, outcome_body):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user)
    event = {"idempotency_key": 12345678, "type": "outcome", "visit_id": visit.id, **outcome_body()}
    response = client.post("/api/v1/sync", json={"events": [event]}, headers=headers)
    assert response.status_code == 200
    result = response.json["results"][0]
    assert result["status"] == 422 and set(result["error"]["fields"]) == {"idempotency_key"}


def test_sync_event_visit_id_beyond_an_integer_column_is_a_422_result(client, collector, outcome_body):
    _, headers = collector
    event = {"idempotency_key": new_key(), "type": "outcome", "visit_id": 2**31, **outcome_body()}
    response = client.post("/api/v1/sync", json={"events": [event]}, headers=headers)
    assert response.status_code == 200
    result = response.json["results"][0]
    assert result["status"] == 422 and set(result["error"]["fields"]) == {"visit_id"}
