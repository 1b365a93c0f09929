"""Privacy by design: raw files gone when the job ends, audited access, tracers only, no lenders proposed."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.jobs.models import BackgroundJob, JobStatus
from backend.timeutil import utcnow
from backend.tracing import jobs as tracing_jobs
from backend.tracing.engine import TraceResult
from backend.tracing.jobs import purge_expired_uploads, run_tracing_request
from backend.tracing.models import TracingCandidate, TracingRequest, TracingUpload


def _uploads(session, request_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).where(TracingUpload.request_id == request_id))


def _audits(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_raw_files_are_deleted_when_the_job_is_done(client, session, tracer, submit, debtor_case, family_files,
                                                   run_worker):
    request_id = submit(debtor_case().id, *family_files).json["id"]
    assert _uploads(session, request_id) == 2
    run_worker()
    assert _uploads(session, request_id) == 0
    body = client.get(f"/api/v1/tracing/requests/{request_id}", headers=tracer[1]).json
    assert body["status"] == "done" and body["raw_files_deleted"] is True
    # What is kept: derived candidates, counts, and the files' fingerprints (not their content).
    assert body["candidates"]["kin"] >= 3 and body["stats"]["calls"]["rows"] > 0
    assert set(body["files"]["calls"]) == {"bytes", "sha256", "format", "encoding", "rows"}


def test_raw_files_are_deleted_when_the_job_fails(session, submit, create_case, family_files, run_worker):
    case = create_case(phones=("+861",))  # the engine cannot read the debtor's number: the job fails
    body = submit(case.id, *family_files).json
    run_worker()
    job = session.get(BackgroundJob, body["job_id"])
    assert job.status is JobStatus.FAILED and "debtor_numbers" in job.error
    assert _uploads(session, body["id"]) == 0
    assert session.get(TracingRequest, body["id"]).raw_deleted_at is not None
    assert [e.subject_id for e in _audits(session, "tracing.request.failed")] == [str(body["id"])]


def test_longer_retention_keeps_files_until_the_sweep_finds_them_expired(session, submit, create_portfolio,
                                                                       debtor_case, family_files, run_worker):
    portfolio = create_portfolio(overrides={"tracing.raw_retention_days": 7})
    body = submit(debtor_case(portfolio=portfolio).id, *family_files).json
    run_worker()
    assert _uploads(session, body["id"]) == 2
    assert purge_expired_uploads()["purged"] == []
    session.execute(sa.update(BackgroundJob).where(BackgroundJob.id == body["job_id"])
                    .values(finished_at=utcnow() - timedelta(days=8)))
    assert purge_expired_uploads()["purged"] == [body["id"]]
    assert _uploads(session, body["id"]) == 0


def test_sweep_purges_files_of_a_job_given_up_as_lost(session, submit, debtor_case, family_files):
    body = submit(debtor_case().id, *family_files).json
    # The requeue sweep gave up on it (workers kept dying): no job code ran to delete the files.
    session.execute(sa.update(BackgroundJob).where(BackgroundJob.id == body["job_id"])
                    .values(status=JobStatus.FAILED, finished_at=utcnow()))
    assert purge_expired_uploads()["purged"] == [body["id"]]
    assert _uploads(session, body["id"]) == 0


def test_queued_request_keeps_its_files(session, submit, debtor_case, family_files):
    body = submit(debtor_case().id, *family_files).json
    assert purge_expired_uploads()["purged"] == []
    assert _uploads(session, body["id"]) == 2


def test_creation_reads_and_decisions_are_audited_with_who_basis_and_case(client, session, tracer, submit,
                                                                         debtor_case, family_files, run_worker):
    user, headers = tracer
    case = debtor_case()
    request_id = submit(case.id, *family_files, legal_basis="debtor_consent").json["id"]
    run_worker()
    candidates = client.get(f"/api/v1/tracing/requests/{request_id}/candidates", headers=headers).json["items"]
    client.post(f"/api/v1/tracing/candidates/{candidates[0]['id']}/confirm", headers=headers)
    client.post(f"/api/v1/tracing/candidates/{candidates[1]['id']}/reject", headers=headers)
    for action in ("tracing.request.create", "tracing.candidates.read", "tracing.candidate.confirm",
                   "tracing.candidate.reject"):
        [event] = _audits(session, action)
        assert (event.actor_id, event.subject_type, event.subject_id) == (user.id, "tracing_request", str(request_id))
        assert (event.details["legal_basis"], event.details["case_id"]) == ("debtor_consent", case.id)


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.DISPATCHER])
def test_collectors_and_dispatchers_cannot_trace_or_see_candidates(role, client, as_role, submit, debtor_case,
                                                                   create_candidate):
    _, headers = as_role(role)
    case = debtor_case()
    candidate = create_candidate(case)
    assert submit(case.id, calls=b"number,direction,started_at\n1,in,2026-01-01 10:00\n",
                  headers=headers).status_code == 403
    for path in (f"/tracing/requests/{candidate.request_id}", f"/tracing/requests/{candidate.request_id}/candidates",
                 f"/tracing/requests?case_id={case.id}"):
        assert client.get(f"/api/v1{path}", headers=headers).status_code == 403
    for action in ("confirm", "reject"):
        assert client.post(f"/api/v1/tracing/candidates/{candidate.id}/{action}", headers=headers).status_code == 403


def test_supervisors_may_review(client, as_role, debtor_case, create_candidate):
    _, headers = as_role(Role.SUPERVISOR)
    candidate = create_candidate(debtor_case())
    assert client.get(f"/api/v1/tracing/requests/{candidate.request_id}/candidates", headers=headers).status_code == 200


def test_lenders_and_collectors_are_never_stored_as_candidates(session, submit, debtor_case, family_files,
                                                             monkeypatch):
    lender = {"number_e164": "+8615000000007", "kind": "associate", "relationship": "lender", "score": 0.9,
              "evidence": {}, "flags": []}
    collector = {**lender, "number_e164": "+8615000000008", "relationship": None, "flags": ["collector"]}
    friend = {**lender, "number_e164": "+8613300000006", "relationship": "close"}
    monkeypatch.setattr(tracing_jobs, "run_trace",
                        lambda *a, **k: TraceResult([lender, collector, friend], {"lenders": {"samples": []}}))
    request_id = submit(debtor_case().id, *family_files).json["id"]
    run_tracing_request(request_id)
    stored = session.scalars(sa.select(TracingCandidate.number_e164)
                             .where(TracingCandidate.request_id == request_id)).all()
    assert stored == ["+8613300000006"]
    assert session.get(TracingRequest, request_id).stats["withheld"] == 2


def test_a_job_that_fails_storing_its_results_is_failed_and_its_raw_files_deleted(session, submit, debtor_case,
                                                                                  family_files, run_worker,
                                                                                  monkeypatch):
    real = tracing_jobs._proposable

    def one_unstorable(candidates, stats):  # a rank the database refuses: the pipelined write fails
        return [{**real(candidates, stats)[0], "kind": "no such kind"}]

    monkeypatch.setattr(tracing_jobs, "_proposable", one_unstorable)
    body = submit(debtor_case().id, *family_files).json
    run_worker()
    session.expire_all()
    job, request = session.get(BackgroundJob, body["job_id"]), session.get(TracingRequest, body["id"])
    assert (job.status, job.error_code) == (JobStatus.FAILED, "internal_error")
    assert request.traced_at is None
    assert session.scalar(sa.select(sa.func.count()).where(TracingCandidate.request_id == body["id"])) == 0
    assert _uploads(session, body["id"]) == 0 and request.raw_deleted_at is not None
    assert [e.subject_id for e in _audits(session, "tracing.request.failed")] == [str(body["id"])]
    assert _audits(session, "tracing.request.traced") == []
