"""Submitting a lookup and reviewing its candidates over the API (no engine run needed here)."""
from __future__ import annotations

import sqlalchemy as sa

from backend.cases.models import CaseContact, CasePhone
from backend.jobs.models import BackgroundJob
from backend.queues import get_queue
from backend.tracing.models import TracingRequest, TracingUpload
from tests.tracing.conftest import as_csv, e164

CONTACTS = as_csv([{"name": "妈妈", "number": "13900000002"}])
CALLS = as_csv([{"number": "13900000002", "direction": "out", "started_at": "2026-11-01 20:00:00",
                 "duration_s": "300"}])

def _count(session, model, **where) -> int:
    query = sa.select(sa.func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.scalar(query)


def test_submit_stores_request_and_files_then_enqueues_on_tracing_queue(session, submit, debtor_case):
    case = debtor_case()
    response = submit(case.id, CONTACTS, CALLS, legal_reference="(2026)川0104民初123号")
    assert response.status_code == 202
    body = response.json
    assert (body["status"], body["progress"], body["case_id"]) == ("queued", 0.0, case.id)
    request = session.get(TracingRequest, body["id"])
    assert request.legal_basis == "court_order" and request.legal_reference == "(2026)川0104民初123号"
    assert {u.kind: u.size_bytes for u in request.uploads} == {"contacts": len(CONTACTS), "calls": len(CALLS)}
    assert body["files"]["calls"]["rows"] == 1
    job = session.get(BackgroundJob, request.job_id)
    assert (job.queue, job.func, job.args) == ("tracing", "backend.tracing.jobs.run_tracing_request",
                                               {"request_id": request.id})
    assert job.rq_job_id in get_queue("tracing").job_ids


def test_one_file_is_enough(submit, debtor_case):
    assert submit(debtor_case().id, calls=CALLS).status_code == 202


def test_legal_basis_is_required(session, submit, debtor_case):
    response = submit(debtor_case().id, CONTACTS, CALLS, legal_basis=None)
    assert response.status_code == 422
    assert "legal_basis" in response.json["error"]["fields"]
    assert _count(session, TracingRequest) == 0


def test_legal_basis_must_be_a_known_ground(submit, debtor_case):
    response = submit(debtor_case().id, CONTACTS, CALLS, legal_basis="curiosity")
    assert response.status_code == 422
    assert "legal_basis" in response.json["error"]["fields"]


def test_unknown_case_is_404_naming_case_id(submit):
    response = submit(999_999, CONTACTS, CALLS)
    assert response.status_code == 404
    assert "case_id" in response.json["error"]["fields"]


def test_at_least_one_file_is_required(submit, debtor_case):
    response = submit(debtor_case().id)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"contacts", "calls"}


def test_case_without_a_known_number_cannot_be_traced(submit, create_case):
    response = submit(create_case(phones=()).id, CONTACTS, CALLS)
    assert response.status_code == 422
    assert "case_id" in response.json["error"]["fields"]


def test_spreadsheet_or_binary_upload_is_422_naming_the_file(session, submit, debtor_case):
    xlsx = b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4
    response = submit(debtor_case().id, CONTACTS, xlsx)
    assert response.status_code == 422
    assert "calls" in response.json["error"]["fields"]
    assert _count(session, TracingUpload) == 0


def test_csv_without_the_needed_columns_is_422_naming_them(submit, debtor_case):
    response = submit(debtor_case().id, calls=b"who,when\nmum,yesterday\n")
    assert response.status_code == 422
    assert "number" in response.json["error"]["fields"]["calls"]


def test_json_upload_is_accepted_and_junk_json_is_not(submit, debtor_case):
    case = debtor_case()
    good = b'[{"name": "\xe5\xa6\x88\xe5\xa6\x88", "number": "13900000002"}]'
    assert submit(case.id, contacts=good).status_code == 202
    response = submit(case.id, contacts=b"[1, 2, 3]")
    assert response.status_code == 422 and "contacts" in response.json["error"]["fields"]


def test_upload_over_the_size_limit_is_413_naming_the_file(session, submit, create_portfolio, debtor_case):
    case = debtor_case(portfolio=create_portfolio(overrides={"tracing.max_upload_bytes": 100}))
    response = submit(case.id, CONTACTS, CALLS + b"13900000002,in,2026-11-02 20:00:00,60\n" * 5)
    assert response.status_code == 413
    assert "calls" in response.json["error"]["fields"]
    assert _count(session, TracingRequest) == 0


def test_upload_over_the_row_limit_is_413_naming_the_file(submit, create_portfolio, debtor_case):
    case = debtor_case(portfolio=create_portfolio(overrides={"tracing.max_rows": 3}))
    calls = CALLS + b"13900000002,in,2026-11-02 20:00:00,60\n" * 3
    response = submit(case.id, CONTACTS, calls)
    assert response.status_code == 413
    assert "tracing.max_rows" in response.json["error"]["fields"]["calls"]


def test_duplicate_submission_returns_the_existing_request(session, submit, debtor_case):
    case = debtor_case()
    first = submit(case.id, CONTACTS, CALLS)
    again = submit(case.id, CONTACTS, CALLS, legal_basis="debtor_consent")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["id"] == first.json["id"]
    assert _count(session, TracingRequest, case_id=case.id) == 1
    assert _count(session, BackgroundJob) == 1
    assert submit(case.id, CONTACTS, CALLS + b"\n13700000003,in,2026-11-02 20:00:00,60\n").json["id"] != first.json["id"]


def test_get_request_shows_status_progress_and_basis(client, tracer, submit, debtor_case):
    created = submit(debtor_case().id, CONTACTS, CALLS).json
    body = client.get(f"/api/v1/tracing/requests/{created['id']}", headers=tracer[1]).json
    assert {k: body[k] for k in ("id", "status", "progress", "legal_basis", "error", "raw_files_deleted")} == {
        "id": created["id"], "status": "queued", "progress": 0.0, "legal_basis": "court_order", "error": None,
        "raw_files_deleted": False}
    listed = client.get(f"/api/v1/tracing/requests?case_id={created['case_id']}", headers=tracer[1]).json
    assert [r["id"] for r in listed["items"]] == [created["id"]] and listed["total"] == 1


def test_unknown_request_is_404(client, tracer):
    assert client.get("/api/v1/tracing/requests/424242", headers=tracer[1]).status_code == 404


def test_confirmed_new_number_joins_the_case_phones_once(client, session, tracer, debtor_case, create_candidate):
    case = debtor_case()
    candidate = create_candidate(case, kind="new_number", number=e164("18600000009"), relationship=None)
    url = f"/api/v1/tracing/candidates/{candidate.id}/confirm"
    first, again = client.post(url, headers=tracer[1]), client.post(url, headers=tracer[1])
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json["status"] == "confirmed" and again.json["case_phone_id"] == first.json["case_phone_id"]
    phones = session.scalars(sa.select(CasePhone).where(CasePhone.number_e164 == e164("18600000009"))).all()
    assert [(p.case_id, p.source, p.source_ref) for p in phones] == [
        (case.id, "tracing", f"tracing:{candidate.request_id}")]


def test_confirmed_kin_becomes_a_case_contact_under_the_contact_rules(client, session, tracer, debtor_case,
                                                                      create_candidate):
    candidate = create_candidate(debtor_case(), kind="kin", relationship="extended")
    body = client.post(f"/api/v1/tracing/candidates/{candidate.id}/confirm", headers=tracer[1]).json
    contact = session.get(CaseContact, body["case_contact_id"])
    assert (contact.name, contact.relationship, contact.phone_e164) == ("妈妈", "relative", "+8613900000002")
    assert (contact.source, contact.source_ref) == ("tracing", f"tracing:{candidate.request_id}")
    assert (contact.do_not_contact, contact.volunteered_to_pay, contact.is_guarantor) == (False, False, False)


def test_confirmed_associate_maps_to_the_contact_vocabulary(client, session, tracer, debtor_case,
                                                            create_candidate):
    candidate = create_candidate(debtor_case(), kind="associate", relationship="work", evidence={"saved_as": []})
    body = client.post(f"/api/v1/tracing/candidates/{candidate.id}/confirm", headers=tracer[1],
                       json={"name": "王经理"}).json
    contact = session.get(CaseContact, body["case_contact_id"])
    assert (contact.name, contact.relationship) == ("王经理", "colleague")


def test_confirm_names_a_relationship_from_the_contact_vocabulary(client, tracer, debtor_case, create_candidate):
    candidate = create_candidate(debtor_case())
    response = client.post(f"/api/v1/tracing/candidates/{candidate.id}/confirm", headers=tracer[1],
                           json={"relationship": "bestie"})
    assert response.status_code == 422 and "relationship" in response.json["error"]["fields"]


def test_rejected_candidate_cannot_be_confirmed(client, session, tracer, debtor_case, create_candidate):
    candidate = create_candidate(debtor_case())
    base = f"/api/v1/tracing/candidates/{candidate.id}"
    assert client.post(f"{base}/reject", headers=tracer[1], json={"note": "wrong person"}).json["status"] == "rejected"
    assert client.post(f"{base}/reject", headers=tracer[1]).status_code == 200
    response = client.post(f"{base}/confirm", headers=tracer[1])
    assert response.status_code == 409 and response.json["error"]["code"] == "candidate_rejected"
    assert _count(session, CaseContact, case_id=candidate.case_id) == 0


def test_confirmed_candidate_cannot_be_rejected(client, tracer, debtor_case, create_candidate):
    candidate = create_candidate(debtor_case())
    client.post(f"/api/v1/tracing/candidates/{candidate.id}/confirm", headers=tracer[1])
    response = client.post(f"/api/v1/tracing/candidates/{candidate.id}/reject", headers=tracer[1])
    assert response.status_code == 409 and response.json["error"]["code"] == "candidate_confirmed"


def test_unknown_candidate_is_404(client, tracer):
    assert client.post("/api/v1/tracing/candidates/424242/confirm", headers=tracer[1]).status_code == 404


def test_request_survives_redis_being_down_at_submit(session, submit, debtor_case, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def refuse(*args, **kwargs):
        raise RedisConnectionError("redis is down")

    monkeypatch.setattr("backend.jobs.service.enqueue", refuse)
    response = submit(debtor_case().id, CONTACTS, CALLS)
    assert response.status_code == 202 and response.json["status"] == "queued"
    job = session.get(BackgroundJob, response.json["job_id"])
    assert job.enqueues == 0 and job.rq_job_id not in get_queue("tracing").job_ids
