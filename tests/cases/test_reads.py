"""Reading cases: pagination, filters, masking by role, audited full reads."""
from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.cases.models import ContactStatus


def test_list_is_paginated_and_filtered_by_contact_status(client, as_role, create_case):
    _, headers = as_role(Role.DISPATCHER)
    for _ in range(3):
        create_case(status=ContactStatus.LOST)
    create_case(status=ContactStatus.REACHABLE)
    page = client.get("/api/v1/cases?contact_status=lost&page_size=2", headers=headers).json
    assert page["total"] == 3 and len(page["items"]) == 2
    assert {c["contact_status"] for c in page["items"]} == {"lost"}
    second = client.get("/api/v1/cases?contact_status=lost&page_size=2&page=2", headers=headers).json
    assert len(second["items"]) == 1


def test_bad_filter_value_is_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/cases?contact_status=vanished", headers=headers)
    assert response.status_code == 422
    assert "contact_status" in response.json["error"]["fields"]


def test_dispatcher_sees_masked_numbers_without_audit(client, as_role, create_case, session):
    _, headers = as_role(Role.DISPATCHER)
    case = create_case(contacts=[{"name": "母亲", "relationship": "parent", "phone_e164": "+8613900139000"}])
    record = client.get(f"/api/v1/cases/{case.id}", headers=headers).json
    assert record["masked"] is True
    assert record["phones"][0]["number"] == "+86138****8000"
    assert record["contacts"][0]["phone"] == "+86139****9000"
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "case.read_full")) == 0


def test_tracer_full_read_is_audited(client, as_role, create_case, session):
    tracer, headers = as_role(Role.TRACER)
    case = create_case()
    record = client.get(f"/api/v1/cases/{case.id}", headers=headers).json
    assert record["phones"][0]["number"] == "+8613800138000"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.read_full"))
    assert (event.actor_id, event.subject_id) == (tracer.id, str(case.id))


def test_supervisor_reads_the_audit_trail(client, as_role, create_case):
    _, tracer = as_role(Role.TRACER)
    _, supervisor = as_role(Role.SUPERVISOR)
    case = create_case()
    client.get(f"/api/v1/cases/{case.id}", headers=tracer)
    trail = client.get(f"/api/v1/audit?subject_type=case&subject_id={case.id}", headers=supervisor).json
    assert trail["total"] == 1 and trail["items"][0]["action"] == "case.read_full"
    assert client.get("/api/v1/audit", headers=tracer).status_code == 403


def test_unknown_case_is_404(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/cases/424242", headers=headers)
    assert response.status_code == 404


def test_collectors_do_not_browse_cases(client, as_role, create_case):
    _, headers = as_role(Role.COLLECTOR)
    case = create_case()
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 403
