"""Next lawful contact: per party, the earliest allowed time and the rules that set it."""
from __future__ import annotations

from backend.auth.models import Role
from backend.cases.models import ContactStatus
from backend.contacts.compliance import next_contact
from backend.contacts.models import Channel
from tests.contacts.conftest import at, contact_named


def by_party(plan, party):
    return next(p for p in plan["parties"] if p["party"] == party)


def codes(entry):
    return [r["code"] for r in entry["reasons"]]


def test_at_night_the_debtor_waits_for_0800_and_third_parties_for_the_debtor(debtor_case, session):
    case = debtor_case()
    plan = next_contact(session, case=case, now=at("23:00"))
    debtor = by_party(plan, "debtor")
    assert (debtor["earliest_at"], debtor["allowed_now"], codes(debtor)) == (
        at("08:00", "2026-11-11"), False, ["quiet_hours"])
    friend = by_party(plan, str(contact_named(case, "friend").id))
    assert (friend["earliest_at"], friend["blocked"]) == (None, True)
    assert codes(friend) == ["debtor_reachable", "quiet_hours"]
    guarantor = by_party(plan, str(contact_named(case, "guarantor").id))
    assert guarantor["obligor"] is True and guarantor["earliest_at"] == at("08:00", "2026-11-11")
    letters = next_contact(session, case=case, channel=Channel.LETTER, now=at("23:00"))
    assert by_party(letters, "debtor")["allowed_now"] is True


def test_caps_push_the_next_contact_out(debtor_case, logged, session):
    case = debtor_case(status=ContactStatus.LOST)
    parent = contact_named(case, "parent")
    logged(case, parent, at("10:00"), now=at("10:01"))
    logged(case, parent, at("10:30"), now=at("10:31"))
    entry = by_party(next_contact(session, case=case, now=at("10:40")), str(parent.id))
    assert entry["earliest_at"] == at("11:00") and codes(entry) == ["third_party_cap"]
    for hhmm in ("12:00", "13:00", "14:00", "15:00"):
        logged(case, parent, at(hhmm), now=at(hhmm))
    # Six unanswered today: tomorrow, once the quiet hours end.
    entry = by_party(next_contact(session, case=case, now=at("21:30")), str(parent.id))
    assert entry["earliest_at"] == at("08:00", "2026-11-11")


def test_do_not_contact_blocks_the_party(debtor_case, client, as_role):
    case = debtor_case()
    _, headers = as_role(Role.SUPERVISOR)
    client.post(f"/api/v1/cases/{case.id}/debtor/do-not-contact", json={"reason": "asked"}, headers=headers)
    plan = client.get(f"/api/v1/cases/{case.id}/next-contact", headers=headers)
    assert plan.status_code == 200
    debtor = by_party(plan.json, "debtor")
    assert debtor["blocked"] is True and "do_not_contact" in codes(debtor)
    assert len(plan.json["parties"]) == 1 + len(case.contacts)


def test_collectors_see_next_contact_only_for_their_cases(debtor_case, client, as_role):
    case = debtor_case()
    _, headers = as_role(Role.COLLECTOR)
    assert client.get(f"/api/v1/cases/{case.id}/next-contact", headers=headers).status_code == 403
