"""The tracers' work queue across cases, and lawful bases as policy data per profile (PIPL under cn_default)."""
from __future__ import annotations

import pytest

from backend.auth.models import Role
from backend.jobs.models import BackgroundJob, JobStatus
from backend.tracing.models import CandidateStatus, TracingRequest
from tests.tracing.test_requests import CALLS, CONTACTS, _count


def _queue(client, headers, **query):
    response = client.get("/api/v1/tracing/requests", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_without_case_id_the_queue_spans_cases_open_first_then_awaiting_review(
        client, session, tracer, submit, debtor_case, create_candidate):
    finished = create_candidate(debtor_case())                      # done, a candidate awaiting a decision
    decided = create_candidate(debtor_case())
    decided.status = CandidateStatus.REJECTED                        # done, nothing left to decide
    queued = submit(debtor_case().id, CONTACTS, CALLS).json         # queued on the worker
    session.flush()
    body = _queue(client, tracer[1])
    order = [r["id"] for r in body["items"]]
    assert order == [queued["id"], finished.request_id, decided.request_id]
    assert body["total"] == 3 and (body["page"], body["page_size"]) == (1, 100)
    first = body["items"][0]
    assert first["status"] == "queued" and first["requested_by"] == tracer[0].username
    assert first["case_ref"] and first["age_s"] >= 0
    assert [r["awaiting_review"] for r in body["items"]] == [0, 1, 0]


def test_queue_filters_by_status_who_and_review(client, session, tracer, submit, debtor_case, create_candidate):
    finished = create_candidate(debtor_case())
    queued = submit(debtor_case().id, CONTACTS, CALLS).json
    assert [r["id"] for r in _queue(client, tracer[1], status="queued")["items"]] == [queued["id"]]
    assert [r["id"] for r in _queue(client, tracer[1], status="done")["items"]] == [finished.request_id]
    assert [r["id"] for r in _queue(client, tracer[1], awaiting_review="true")["items"]] == [finished.request_id]
    mine = _queue(client, tracer[1], requested_by_id=tracer[0].id)["items"]
    assert [r["id"] for r in mine] == [queued["id"]]


def test_queue_pages(client, tracer, debtor_case, create_candidate):
    ids = [create_candidate(debtor_case()).request_id for _ in range(3)]
    first, second = (_queue(client, tracer[1], page=p, page_size=2) for p in (1, 2))
    assert first["total"] == second["total"] == 3
    assert [r["id"] for r in first["items"] + second["items"]] == ids  # awaiting review: oldest first


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.DISPATCHER])
def test_queue_is_for_tracers_and_supervisors(client, as_role, role):
    assert client.get("/api/v1/tracing/requests", headers=as_role(role)[1]).status_code == 403


def test_unknown_status_is_422(client, tracer):
    response = client.get("/api/v1/tracing/requests", query_string={"status": "lost"}, headers=tracer[1])
    assert response.status_code == 422 and "status" in response.json["error"]["fields"]


@pytest.mark.parametrize("basis", ["legitimate_interest", "contract_clause"])
def test_a_basis_pipl_does_not_know_is_422_under_cn_default(session, submit, debtor_case, basis):
    response = submit(debtor_case().id, CONTACTS, CALLS, legal_basis=basis)
    assert response.status_code == 422
    assert "legal_basis" in response.json["error"]["fields"]
    assert "cn_default" in response.json["error"]["fields"]["legal_basis"]
    assert _count(session, TracingRequest) == 0


@pytest.mark.parametrize("basis", ["debtor_consent", "contract_performance", "legal_obligation", "court_order"])
def test_pipl_bases_are_accepted_under_cn_default(submit, debtor_case, basis):
    assert submit(debtor_case().id, CONTACTS, CALLS, legal_basis=basis).status_code == 202


def test_the_us_profile_has_its_own_list(submit, debtor_case, create_portfolio):
    us_case = debtor_case(portfolio=create_portfolio(profile="us_fdcpa"))
    assert submit(us_case.id, CONTACTS, CALLS, legal_basis="fcra_permissible_purpose").status_code == 202
    assert submit(debtor_case().id, CONTACTS, CALLS, legal_basis="fcra_permissible_purpose").status_code == 422


def test_a_portfolio_override_narrows_the_bases(submit, debtor_case, create_portfolio):
    strict = create_portfolio(overrides={"tracing.legal_bases": ["court_order"]})
    assert submit(debtor_case(portfolio=strict).id, CONTACTS, CALLS, legal_basis="debtor_consent").status_code == 422


def test_an_override_naming_an_unknown_basis_is_refused(client, as_role):
    response = client.post("/api/v1/portfolios", json={
        "code": "odd", "creditor": "Odd Bank", "overrides": {"tracing.legal_bases": ["curiosity"]}},
        headers=as_role(Role.ADMIN)[1])
    assert response.status_code == 422
    assert "overrides.tracing.legal_bases" in response.json["error"]["fields"]


def test_legal_bases_endpoint_lists_the_profiles_bases_in_words(client, tracer, debtor_case):
    body = client.get("/api/v1/tracing/legal-bases", query_string={"case_id": debtor_case().id},
                      headers=tracer[1]).json
    assert body["profile"] == "cn_default"
    assert [b["code"] for b in body["bases"]] == ["debtor_consent", "contract_performance", "legal_obligation",
                                                  "court_order"]
    assert all("PIPL" in b["description"] or "court" in b["description"] for b in body["bases"])


def test_every_candidate_shows_the_basis_in_its_evidence(client, session, tracer, debtor_case, create_candidate):
    candidate = create_candidate(debtor_case(), legal_basis="court_order")
    session.get(TracingRequest, candidate.request_id).legal_reference = "(2026)川0104执123号"
    listed = client.get(f"/api/v1/tracing/requests/{candidate.request_id}/candidates", headers=tracer[1]).json
    basis = listed["items"][0]["evidence"]["legal_basis"]
    assert basis == {"code": "court_order", "description": "a court order or enforcement ruling",
                     "reference": "(2026)川0104执123号"}
    assert listed["items"][0]["evidence"]["saved_as"]  # the engine's evidence is still there
    confirmed = client.post(f"/api/v1/tracing/candidates/{candidate.id}/confirm", headers=tracer[1]).json
    assert confirmed["evidence"]["legal_basis"]["code"] == "court_order"


def test_job_rows_unchanged_by_listing(session, client, tracer, create_candidate, debtor_case):
    candidate = create_candidate(debtor_case())
    _queue(client, tracer[1])
    job = session.get(BackgroundJob, session.get(TracingRequest, candidate.request_id).job_id)
    assert job.status is JobStatus.DONE
