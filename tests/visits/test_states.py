"""The visit lifecycle: every legal move works, every illegal one is a 409 and changes nothing."""
from __future__ import annotations

import pytest

from backend.auth.models import Role
from backend.visits.models import Visit, VisitStatus
from backend.visits.states import TRANSITIONS, can_move
from tests.visits.conftest import new_key, plan_day

S = VisitStatus


def test_terminal_statuses_lead_nowhere():
    assert all(not TRANSITIONS[s] for s in (S.DONE, S.FAILED, S.CANCELLED))
    assert not can_move(S.NEEDS_APPROVAL, S.ASSIGNED)
    assert not can_move(S.IN_PROGRESS, S.CANCELLED)


def test_supervisor_approves_needs_approval_into_scheduled(client, as_role, make_visit, session):
    visit = make_visit(S.NEEDS_APPROVAL)
    supervisor, headers = as_role(Role.SUPERVISOR)
    response = client.post(f"/api/v1/visits/{visit.id}/approve", headers=headers)
    assert response.status_code == 200
    assert response.json["status"] == "scheduled"
    assert session.get(Visit, visit.id).approved_by_id == supervisor.id


def test_dispatcher_cannot_approve(client, as_role, make_visit):
    visit = make_visit(S.NEEDS_APPROVAL)
    _, headers = as_role(Role.DISPATCHER)
    assert client.post(f"/api/v1/visits/{visit.id}/approve", headers=headers).status_code == 403


@pytest.mark.parametrize("status", [S.REQUESTED, S.SCHEDULED, S.ASSIGNED, S.DONE, S.CANCELLED])
def test_approving_anything_but_needs_approval_is_409(client, as_role, make_visit, status):
    visit = make_visit(status)
    _, headers = as_role(Role.SUPERVISOR)
    response = client.post(f"/api/v1/visits/{visit.id}/approve", headers=headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "illegal_transition"
    assert response.json["error"]["from"] == status.value


@pytest.mark.parametrize("status", [S.REQUESTED, S.SCHEDULED, S.ASSIGNED])
def test_assign_from_open_statuses(client, as_role, make_visit, collector, status):
    visit = make_visit(status)
    user, _ = collector
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/visits/{visit.id}/assign",
                           json={"collector_id": user.id, "date": plan_day().isoformat()}, headers=headers)
    assert response.status_code == 200
    assert (response.json["status"], response.json["collector_id"]) == ("assigned", user.id)
    assert response.json["scheduled_date"] == plan_day().isoformat()


@pytest.mark.parametrize("status", [S.NEEDS_APPROVAL, S.IN_PROGRESS, S.DONE, S.FAILED, S.CANCELLED])
def test_assign_from_other_statuses_is_409(client, as_role, make_visit, collector, session, status):
    visit = make_visit(status)
    user, _ = collector
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/visits/{visit.id}/assign",
                           json={"collector_id": user.id, "date": plan_day().isoformat()}, headers=headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "illegal_transition"
    session.expire_all()
    assert session.get(Visit, visit.id).status is status


@pytest.mark.parametrize("status", [S.REQUESTED, S.NEEDS_APPROVAL, S.SCHEDULED, S.ASSIGNED])
def test_cancel_open_visits(client, as_role, make_visit, status):
    visit = make_visit(status)
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/visits/{visit.id}/cancel", json={"reason": "debt settled"}, headers=headers)
    assert response.status_code == 200
    assert (response.json["status"], response.json["cancel_reason"]) == ("cancelled", "debt settled")


@pytest.mark.parametrize("status", [S.IN_PROGRESS, S.DONE, S.FAILED, S.CANCELLED])
def test_cancel_started_or_finished_is_409(client, as_role, make_visit, status):
    visit = make_visit(status)
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/visits/{visit.id}/cancel", json={"reason": "x"}, headers=headers)
    assert response.status_code == 409


def test_cancel_needs_a_reason(client, as_role, make_visit):
    visit = make_visit()
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/visits/{visit.id}/cancel", json={}, headers=headers)
    assert response.status_code == 422
    assert "reason" in response.json["error"]["fields"]


def test_collector_starts_own_assigned_visit(client, make_visit, collector):
    user, headers = collector
    visit = make_visit(S.ASSIGNED, collector=user)
    response = client.post(f"/api/v1/visits/{visit.id}/start", headers=headers)
    assert response.status_code == 200
    assert response.json["status"] == "in_progress"
    assert response.json["started_at"] is not None
    assert client.post(f"/api/v1/visits/{visit.id}/start", headers=headers).status_code == 409


def test_outcome_moves_assigned_to_done_and_in_progress_to_failed(client, make_visit, collector, outcome_body):
    user, headers = collector
    first = make_visit(S.ASSIGNED, collector=user)
    second = make_visit(S.IN_PROGRESS, collector=user)
    done = client.post(f"/api/v1/visits/{first.id}/outcome", json=outcome_body("met_debtor"),
                       headers={**headers, "Idempotency-Key": new_key()})
    failed = client.post(f"/api/v1/visits/{second.id}/outcome", json=outcome_body("not_home"),
                         headers={**headers, "Idempotency-Key": new_key()})
    assert (done.status_code, done.json["visit_status"]) == (201, "done")
    assert (failed.status_code, failed.json["visit_status"]) == (201, "failed")


# A visit cancelled after the phone took it is not refused: the knock is stored, flagged `reassigned`
# (tests/fieldday/test_reassigned_reports.py).
@pytest.mark.parametrize("status", [S.DONE, S.FAILED])
def test_outcome_on_finished_visit_is_409(client, make_visit, collector, outcome_body, status):
    user, headers = collector
    visit = make_visit(status, collector=user)
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body(),
                           headers={**headers, "Idempotency-Key": new_key()})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "illegal_transition"


def test_second_outcome_under_a_new_key_is_409(client, make_visit, collector, outcome_body):
    user, headers = collector
    visit = make_visit(S.ASSIGNED, collector=user)
    assert client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body(),
                       headers={**headers, "Idempotency-Key": new_key()}).status_code == 201
    again = client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body("not_home"),
                        headers={**headers, "Idempotency-Key": new_key()})
    assert again.status_code == 409
