"""Contact status from the log: unreachable after unanswered attempts, lost after 3 days, history kept."""
from __future__ import annotations

from datetime import timedelta

from backend.cases.models import ContactStatus
from backend.contacts.status import status_history, sweep_contact_statuses
from tests.contacts.conftest import at, contact_named


def minute_after(moment):
    return moment + timedelta(minutes=1)


def test_debtor_becomes_semi_lost_after_unanswered_attempts_and_third_parties_open(debtor_case, logged, session):
    case = debtor_case()
    first = logged(case, when=at("10:00"), now=minute_after(at("10:00")))
    assert case.contact_status == ContactStatus.REACHABLE
    second = logged(case, when=at("11:00"), now=minute_after(at("11:00")))
    assert case.contact_status == ContactStatus.SEMI_LOST
    [change] = status_history(session, case.id)
    assert (change.from_status, change.to_status, change.attempt_id) == (
        ContactStatus.REACHABLE, ContactStatus.SEMI_LOST, second.id)
    assert first.reached is False
    parent = contact_named(case, "parent")
    assert logged(case, parent, at("11:30"), now=minute_after(at("11:30"))).id


def test_lost_after_three_days_without_reaching_anyone(debtor_case, logged, session):
    case = debtor_case()
    logged(case, when=at("10:00"), now=minute_after(at("10:00")))
    logged(case, when=at("11:00"), now=minute_after(at("11:00")))
    assert sweep_contact_statuses(session, now=at("09:59", "2026-11-13")) == 0
    assert case.contact_status == ContactStatus.SEMI_LOST
    assert sweep_contact_statuses(session, now=at("12:00", "2026-11-13")) == 1
    assert case.contact_status == ContactStatus.LOST
    # Lost from the moment the third day ran out, counted from the first unanswered attempt.
    assert case.status_changed_at == at("10:00", "2026-11-13")
    assert [c.to_status for c in status_history(session, case.id)] == [ContactStatus.SEMI_LOST, ContactStatus.LOST]


def test_a_reached_third_party_restarts_the_three_days(debtor_case, logged, session):
    case = debtor_case()
    logged(case, when=at("10:00"), now=minute_after(at("10:00")))
    logged(case, when=at("11:00"), now=minute_after(at("11:00")))
    parent = contact_named(case, "parent")
    logged(case, parent, at("10:00", "2026-11-12"), result="answered", now=at("10:01", "2026-11-12"))
    sweep_contact_statuses(session, now=at("12:00", "2026-11-13"))
    assert case.contact_status == ContactStatus.SEMI_LOST
    sweep_contact_statuses(session, now=at("10:00", "2026-11-15"))
    assert case.contact_status == ContactStatus.LOST
    assert case.status_changed_at == at("10:00", "2026-11-15")


def test_reaching_the_debtor_makes_the_case_reachable_again(debtor_case, logged, session, client, supervisor):
    case = debtor_case()
    logged(case, when=at("10:00"), now=minute_after(at("10:00")))
    logged(case, when=at("11:00"), now=minute_after(at("11:00")))
    sweep_contact_statuses(session, now=at("12:00", "2026-11-14"))
    answered = logged(case, when=at("10:00", "2026-11-16"), result="answered", now=at("10:01", "2026-11-16"))
    assert case.contact_status == ContactStatus.REACHABLE
    assert case.status_changed_at == at("10:00", "2026-11-16")
    history = client.get(f"/api/v1/cases/{case.id}/contact-status-history", headers=supervisor[1]).json
    assert history["contact_status"] == "reachable"
    assert [(c["from_status"], c["to_status"]) for c in history["changes"]] == [
        ("reachable", "semi_lost"), ("semi_lost", "lost"), ("lost", "reachable")]
    assert history["changes"][-1]["attempt_id"] == answered.id


def test_third_party_attempts_alone_keep_the_imported_status(debtor_case, logged):
    case = debtor_case(status=ContactStatus.LOST)
    logged(case, contact_named(case, "friend"), at("10:00"), result="answered", now=at("10:01"))
    assert case.contact_status == ContactStatus.LOST
