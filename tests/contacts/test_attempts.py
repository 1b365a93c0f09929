"""Logging attempts: late entries, do-not-contact, who may log, bad input, retries, audit."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.cases.models import ContactStatus
from backend.contacts.models import ContactAttempt, DoNotContactEvent
from backend.timeutil import utcnow
from backend.visits.requests import request_visit
from tests.contacts.conftest import at, contact_named


def audits(session, action):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_late_entry_is_stored_with_its_violations_and_reported(debtor_case, post_attempt, client, supervisor,
                                                               dispatcher):
    case = debtor_case()
    response = post_attempt(case, when=at("23:10"), late_entry=True, notes="debtor called back at night")
    assert response.status_code == 201
    assert response.json["late_entry"] is True
    assert [v["code"] for v in response.json["violations"]] == ["quiet_hours"]
    lawful = post_attempt(case, when=at("10:00"))
    assert lawful.json["violations"] == []
    report = client.get("/api/v1/compliance/late-entries", headers=supervisor[1])
    assert report.status_code == 200
    assert [item["id"] for item in report.json["items"]] == [response.json["id"]]
    assert report.json["items"][0]["external_ref"] == case.external_ref
    assert client.get("/api/v1/compliance/late-entries", headers=dispatcher[1]).status_code == 403


def test_do_not_contact_is_a_recorded_audited_event_and_refuses_attempts(debtor_case, post_attempt, client,
                                                                         dispatcher, session):
    case = debtor_case(status=ContactStatus.SEMI_LOST)
    parent = contact_named(case, "parent")
    response = client.post(f"/api/v1/cases/{case.id}/contacts/{parent.id}/do-not-contact",
                           json={"reason": "asked us by letter"}, headers=dispatcher[1])
    assert response.status_code == 200 and response.json["do_not_contact"] is True
    assert parent.do_not_contact is True and parent.do_not_contact_at is not None
    event = session.scalar(sa.select(DoNotContactEvent))
    assert (event.contact_id, event.active, event.actor_id) == (parent.id, True, dispatcher[0].id)
    [audit] = audits(session, "contact.do_not_contact_set")
    assert audit.details["party"] == parent.id and audit.actor_id == dispatcher[0].id
    later = utcnow() - timedelta(minutes=1)
    error = post_attempt(case, parent, later).json["error"]
    assert error["code"] == "do_not_contact" and "next_allowed_at" not in error


def test_asking_not_to_be_contacted_during_an_attempt_sets_it(debtor_case, post_attempt, session):
    case = debtor_case()
    response = post_attempt(case, when=at("10:00"), result="refused", asked_not_to_be_contacted=True)
    assert response.status_code == 201
    assert session.scalar(sa.select(DoNotContactEvent.attempt_id)) == response.json["id"]
    assert post_attempt(case, when=at("15:00")).json["error"]["code"] == "do_not_contact"
    # Recording what happened before the request is not a violation.
    earlier = post_attempt(case, when=at("09:00"), late_entry=True)
    assert earlier.json["violations"] == []


def test_only_a_supervisor_lifts_do_not_contact(debtor_case, post_attempt, client, dispatcher, supervisor, session):
    case = debtor_case()
    url = f"/api/v1/cases/{case.id}/debtor/do-not-contact"
    assert client.post(url, json={"reason": "cease letter"}, headers=dispatcher[1]).status_code == 200
    assert client.delete(url, json={}, headers=dispatcher[1]).status_code == 403
    lifted = client.delete(url, json={"reason": "debtor asked to be called"}, headers=supervisor[1])
    assert lifted.status_code == 200 and lifted.json["do_not_contact"] is False
    assert len(audits(session, "contact.do_not_contact_lifted")) == 1
    # Whatever the hour now, a do-not-contact violation is no longer among the attempt's violations.
    after = post_attempt(case, when=utcnow(), late_entry=True)
    assert "do_not_contact" not in [v["code"] for v in after.json["violations"]]


def test_collectors_log_only_on_cases_of_their_own_visits(debtor_case, post_attempt, as_role, session):
    case = debtor_case()
    collector, headers = as_role(Role.COLLECTOR)
    assert post_attempt(case, when=at("10:00"), headers=headers).status_code == 403
    visit = request_visit(session, case_id=case.id, kind="confirm")
    visit.collector_id = collector.id
    session.flush()
    response = post_attempt(case, when=at("10:00"), headers=headers)
    assert response.status_code == 201 and response.json["logged_by_id"] == collector.id


def test_tracers_read_but_do_not_log(debtor_case, post_attempt, as_role, client):
    case = debtor_case()
    _, headers = as_role(Role.TRACER)
    assert post_attempt(case, when=at("10:00"), headers=headers).status_code == 403
    assert client.get(f"/api/v1/cases/{case.id}/contact-attempts", headers=headers).status_code == 200


def test_bad_input_names_the_field(debtor_case, post_attempt, create_case, session):
    case = debtor_case()
    other = create_case(contacts=({"name": "X", "relationship": "friend", "phone_e164": "+8613900139999"},))
    stranger = other.contacts[0]
    assert post_attempt(case, stranger.id, at("10:00")).json["error"]["fields"] == {
        "party": f"contact {stranger.id} is not a contact of case {case.id}"}
    assert "party" in post_attempt(case, "nobody", at("10:00")).json["error"]["fields"]
    assert "channel" in post_attempt(case, when=at("10:00"), channel="fax").json["error"]["fields"]
    future = post_attempt(case, when=utcnow() + timedelta(hours=1))
    assert future.status_code == 422 and "started_at" in future.json["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0


def test_naive_time_is_rejected(debtor_case, client, dispatcher):
    case = debtor_case()
    response = client.post(f"/api/v1/cases/{case.id}/contact-attempts", headers=dispatcher[1], json={
        "party": "debtor", "channel": "call", "started_at": "2026-11-10T10:00:00", "result": "answered"})
    assert response.status_code == 422 and "started_at" in response.json["error"]["fields"]


def test_retried_attempt_with_the_same_key_is_stored_once(debtor_case, post_attempt, dispatcher, session):
    case = debtor_case()
    headers = {**dispatcher[1], "Idempotency-Key": "attempt-0001-retry"}
    first = post_attempt(case, when=at("10:00"), headers=headers)
    again = post_attempt(case, when=at("10:00"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 1
    changed = post_attempt(case, when=at("11:00"), headers=headers)
    assert changed.status_code == 409 and changed.json["error"]["code"] == "idempotency_key_reused"


def test_contact_log_reads_are_audited(debtor_case, post_attempt, client, supervisor, session):
    case = debtor_case()
    post_attempt(case, when=at("10:00"), result="answered")
    response = client.get(f"/api/v1/cases/{case.id}/contact-attempts", headers=supervisor[1])
    assert response.status_code == 200 and response.json["total"] == 1
    assert response.json["items"][0]["party"] == "debtor"
    trail = client.get("/api/v1/audit", query_string={"action": "contact_log.read"}, headers=supervisor[1])
    assert [(e["actor_id"], e["subject_id"]) for e in trail.json["items"]] == [(supervisor[0].id, str(case.id))]


def test_attempt_with_a_promise_records_it(debtor_case, post_attempt, session):
    case = debtor_case()
    response = post_attempt(case, when=at("10:00"), result="promise",
                            promise={"amount": "1200.00", "due_date": "2026-11-20"})
    assert response.status_code == 201 and response.json["promise_id"]
    bad = post_attempt(case, when=at("11:00"), result="promise", promise={"amount": "-5", "due_date": "2026-11-20"})
    assert bad.status_code == 422 and "promise.amount" in bad.json["error"]["fields"]


def test_offline_queue_logs_an_attempt_once(debtor_case, client, as_role, session):
    case = debtor_case()
    collector, headers = as_role(Role.COLLECTOR)
    visit = request_visit(session, case_id=case.id, kind="confirm")
    visit.collector_id = collector.id
    session.flush()
    event = {"type": "contact_attempt", "idempotency_key": "offline-call-0001", "case_id": case.id,
             "party": "debtor", "channel": "call", "started_at": at("10:00").isoformat(), "result": "answered"}
    night = {**event, "idempotency_key": "offline-call-0002", "started_at": at("22:30").isoformat()}
    results = client.post("/api/v1/sync", json={"events": [event, event, night]}, headers=headers).json["results"]
    assert [r["status"] for r in results] == [201, 200, 409]
    assert results[2]["error"]["code"] == "quiet_hours"
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 1


def test_logging_an_attempt_announces_it(debtor_case, logged):
    from backend.signals import contact_attempt_recorded

    seen = []

    def receiver(case, **kwargs):
        seen.append((case.id, kwargs["attempt"].id))

    contact_attempt_recorded.connect(receiver)
    try:
        case = debtor_case()
        attempt = logged(case, when=at("10:00"))
    finally:
        contact_attempt_recorded.disconnect(receiver)
    assert seen == [(case.id, attempt.id)]
