"""Assigning a visit: an active collector with the crew, skills and room for it that day."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role
from backend.visits.models import VisitStatus
from tests.visits.conftest import plan_day


def _assign(client, headers, visit, collector_id, day=None):
    return client.post(f"/api/v1/visits/{visit.id}/assign",
                       json={"collector_id": collector_id, "date": (day or plan_day()).isoformat()}, headers=headers)


def test_unknown_collector_is_404_naming_collector_id(client, as_role, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    response = _assign(client, headers, make_visit(), 999999)
    assert response.status_code == 404
    assert "collector_id" in response.json["error"]["fields"]


def test_unknown_visit_is_404(client, as_role, collector):
    _, headers = as_role(Role.DISPATCHER)
    response = client.post("/api/v1/visits/999999/assign",
                           json={"collector_id": collector[0].id, "date": plan_day().isoformat()}, headers=headers)
    assert response.status_code == 404


def test_only_an_active_collector_may_be_assigned(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    visit = make_visit()
    dispatcher = create_user(Role.DISPATCHER)
    inactive = create_user(Role.COLLECTOR, active=False)
    for user in (dispatcher, inactive):
        response = _assign(client, headers, visit, user.id)
        assert response.status_code == 422
        assert "collector_id" in response.json["error"]["fields"]


def test_max_visits_per_day_is_respected(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    user = create_user(Role.COLLECTOR, max_visits_per_day=2)
    visits = [make_visit() for _ in range(3)]
    assert [_assign(client, headers, v, user.id).status_code for v in visits] == [200, 200, 409]
    response = _assign(client, headers, visits[2], user.id)
    assert response.json["error"]["code"] == "max_visits_reached"
    # Another day still has room.
    assert _assign(client, headers, visits[2], user.id, plan_day() + timedelta(days=1)).status_code == 200


def test_two_person_visit_needs_a_crew(client, as_role, create_user, make_visit, session):
    _, headers = as_role(Role.DISPATCHER)
    visit = make_visit()
    visit.requires_two = True
    session.flush()
    solo, crew = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR, team_size=2)
    response = _assign(client, headers, visit, solo.id)
    assert (response.status_code, response.json["error"]["code"]) == (409, "needs_two_person_crew")
    assert _assign(client, headers, visit, crew.id).status_code == 200


def test_skills_must_match(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    visit = make_visit(required_skills=["legal"])
    plain, lawyer = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR, skills=["legal"])
    response = _assign(client, headers, visit, plain.id)
    assert (response.status_code, response.json["error"]["code"]) == (409, "missing_skills")
    assert _assign(client, headers, visit, lawyer.id).status_code == 200


def test_past_date_is_422(client, as_role, collector, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    response = _assign(client, headers, make_visit(), collector[0].id, plan_day() - timedelta(days=5))
    assert response.status_code == 422
    assert "date" in response.json["error"]["fields"]


def test_collector_cannot_assign(client, collector, make_visit):
    user, headers = collector
    assert _assign(client, headers, make_visit(), user.id).status_code == 403


def test_reassign_moves_the_visit(client, as_role, create_user, make_visit):
    _, headers = as_role(Role.DISPATCHER)
    first, second = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR)
    visit = make_visit(VisitStatus.ASSIGNED, collector=first)
    response = _assign(client, headers, visit, second.id)
    assert (response.status_code, response.json["collector_id"]) == (200, second.id)
