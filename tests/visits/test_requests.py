"""POST /visits: who may request, what a request becomes, and bad input."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backend.auth.models import Role
from backend.policy.calendar import add_working_days
from backend.policy.service import get_policy
from backend.timeutil import utcnow


def test_dispatcher_requests_a_visit_due_in_three_working_days(client, as_role, create_user, create_case, session):
    create_user(Role.COLLECTOR)
    _, headers = as_role(Role.DISPATCHER)
    case = create_case()
    before = utcnow()
    response = client.post("/api/v1/visits", json={"case_id": case.id, "kind": "confirm", "reason": "first call",
                                                    "priority": 4}, headers=headers)
    assert response.status_code == 201
    assert response.json["status"] == "requested"
    assert response.json["address"]["text"] == case.addresses[0].text
    due = datetime.fromisoformat(response.json["due_by"])
    today = before.astimezone(ZoneInfo(case.timezone)).date()
    days = (add_working_days(today, 3, get_policy(session, case.portfolio_id)) - today).days
    assert days >= 3
    assert before + timedelta(days=days) <= due <= utcnow() + timedelta(days=days)


def test_far_visit_needs_approval(client, as_role, create_user, create_case):
    create_user(Role.COLLECTOR)  # at the centre of Chengdu
    _, headers = as_role(Role.DISPATCHER)
    case = create_case(lat=31.30, lon=104.07)  # ~70 km north
    response = client.post("/api/v1/visits", json={"case_id": case.id, "kind": "locate"}, headers=headers)
    assert response.status_code == 201
    assert (response.json["status"], response.json["outsourced"]) == ("needs_approval", True)


def test_collector_cannot_request_visits(client, collector, create_case):
    _, headers = collector
    response = client.post("/api/v1/visits", json={"case_id": create_case().id, "kind": "confirm"}, headers=headers)
    assert response.status_code == 403


def test_unknown_case_is_404_naming_case_id(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/visits", json={"case_id": 999999, "kind": "confirm"}, headers=headers)
    assert response.status_code == 404
    assert "case_id" in response.json["error"]["fields"]


def test_bad_kind_priority_and_window_are_422_naming_fields(client, as_role, create_case):
    _, headers = as_role(Role.DISPATCHER)
    case = create_case()
    start = utcnow()
    response = client.post("/api/v1/visits", json={
        "case_id": case.id, "kind": "shaming", "priority": 9,
        "window_start": start.isoformat(), "window_end": (start - timedelta(hours=1)).isoformat()}, headers=headers)
    assert response.status_code == 422
    assert {"kind", "priority"} <= set(response.json["error"]["fields"])
    response = client.post("/api/v1/visits", json={
        "case_id": case.id, "kind": "confirm",
        "window_start": start.isoformat(), "window_end": (start - timedelta(hours=1)).isoformat()}, headers=headers)
    assert response.status_code == 422
    assert "window_end" in response.json["error"]["fields"]


def test_wrong_types_and_malformed_json(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/visits", json={"case_id": "one", "kind": "confirm"}, headers=headers)
    assert response.status_code == 422
    assert "case_id" in response.json["error"]["fields"]
    response = client.post("/api/v1/visits", data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 400


def test_address_of_another_case_is_422(client, as_role, create_case):
    _, headers = as_role(Role.DISPATCHER)
    case, other = create_case(), create_case()
    response = client.post("/api/v1/visits", json={"case_id": case.id, "kind": "confirm",
                                                    "address_id": other.addresses[0].id}, headers=headers)
    assert response.status_code == 422
    assert "address_id" in response.json["error"]["fields"]
