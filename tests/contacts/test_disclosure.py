"""A third party's call sheet carries no amount or debt details unless they volunteered to pay."""
from __future__ import annotations

import json

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.cases.models import ContactStatus
from tests.contacts.conftest import contact_named


def keys(node) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(node, dict):
        return set(node) | set().union(*(keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys(v) for v in node))
    return set()


def sheet_url(case, contact):
    return f"/api/v1/cases/{case.id}/contacts/{contact.id}/call-sheet"


def test_third_party_call_sheet_has_no_amount(debtor_case, client, as_role, session):
    case = debtor_case(status=ContactStatus.SEMI_LOST)
    friend = contact_named(case, "friend")
    tracer, headers = as_role(Role.TRACER)
    response = client.get(sheet_url(case, friend), headers=headers)
    assert response.status_code == 200
    body = response.json
    assert body["debtor_name"] == case.debtor_name
    assert body["contact"] == {"id": friend.id, "name": "Wang Fang", "relationship": "friend",
                               "phone": "+8613900139002"}
    assert body["may_discuss_debt"] is False and "debt" not in body
    assert not {"debt", "amount_due", "amount", "currency", "days_past_due"} & keys(body)
    text = json.dumps(body)
    assert "5000" not in text and "CNY" not in text
    [audit] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "contact.call_sheet_read")).all()
    assert (audit.actor_id, audit.details["party"], audit.details["disclosed_debt"]) == (tracer.id, friend.id, False)


def test_volunteering_to_pay_is_recorded_and_then_the_amount_is_shown(debtor_case, client, as_role, session):
    case = debtor_case(status=ContactStatus.SEMI_LOST)
    parent = contact_named(case, "parent")
    _, dispatcher = as_role(Role.DISPATCHER)
    _, tracer = as_role(Role.TRACER)
    marked = client.post(f"/api/v1/cases/{case.id}/contacts/{parent.id}/volunteered-to-pay",
                         json={"notes": "offered to settle for her son"}, headers=dispatcher)
    assert marked.status_code == 200 and marked.json["volunteered_to_pay"] is True
    assert session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "contact.volunteered_to_pay")) \
        == {"party": parent.id, "notes": "offered to settle for her son"}
    body = client.get(sheet_url(case, parent), headers=tracer).json
    assert body["may_discuss_debt"] is True
    assert body["debt"] == {"amount_due": "5000.00", "currency": "CNY", "days_past_due": 30}


def test_a_guarantor_may_be_told_the_debt(debtor_case, client, as_role):
    case = debtor_case()
    _, headers = as_role(Role.SUPERVISOR)
    body = client.get(sheet_url(case, contact_named(case, "guarantor")), headers=headers).json
    assert body["debt"]["amount_due"] == "5000.00"


def test_dispatchers_get_a_masked_number(debtor_case, client, as_role):
    case = debtor_case()
    _, headers = as_role(Role.DISPATCHER)
    body = client.get(sheet_url(case, contact_named(case, "friend")), headers=headers).json
    assert body["masked"] is True and body["contact"]["phone"] == "+86139****9002"
