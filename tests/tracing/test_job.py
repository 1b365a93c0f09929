"""The tracing job in a real worker: what it finds, progress, idempotence, and surviving lost workers."""
from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from rq.job import Job

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.extensions import redis_conn
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import requeue_lost_jobs
from backend.queues import get_queue
from backend.timeutil import utcnow
from backend.tracing.jobs import run_tracing_request
from backend.tracing.models import TracingCandidate, TracingRequest, TracingUpload
from backend.tracing.service import submit_request
from tests.tracing.conftest import (
    add_case,
    add_user,
    as_csv,
    as_json_lines,
    e164,
    gone,
    kill_worker,
    scenario_rows,
    worker_process,
)
from tests.tracing.test_engine import COLLEAGUE, FRIEND, LENDER, MOTHER, NEW, SISTER, TELEMARKETER, WIFE


@pytest.fixture
def traced(client, tracer, submit, debtor_case, family_files, run_worker):
    """Submit the family scenario over the API and drain the queues with a real worker."""
    response = submit(debtor_case().id, *family_files)
    assert response.status_code == 202
    run_worker()
    request_id = response.json["id"]
    status = client.get(f"/api/v1/tracing/requests/{request_id}", headers=tracer[1]).json
    candidates = client.get(f"/api/v1/tracing/requests/{request_id}/candidates", headers=tracer[1]).json["items"]
    return status, candidates


def test_worker_finds_new_number_kin_and_associates_past_the_decoys(traced):
    status, candidates = traced
    assert (status["status"], status["progress"], status["error"]) == ("done", 1.0, None)
    found = {c["number_e164"]: c for c in candidates}
    assert candidates[0]["number_e164"] == e164(NEW) and candidates[0]["kind"] == "new_number"
    assert [c["number_e164"] for c in candidates if c["kind"] == "new_number"] == [e164(NEW)]
    assert {n: (found[e164(n)]["kind"], found[e164(n)]["relationship"]) for n in (MOTHER, SISTER, WIFE)} == {
        MOTHER: ("kin", "parent"), SISTER: ("kin", "sibling"), WIFE: ("kin", "spouse")}
    assert found[e164(FRIEND)]["kind"] == "associate"
    # The colleague who calls the mother after the switch is a colleague, not the debtor's new phone.
    assert (found[e164(COLLEAGUE)]["kind"], found[e164(COLLEAGUE)]["relationship"]) == ("associate", "work")
    assert e164(TELEMARKETER) not in found and e164(LENDER) not in found
    assert all(c["status"] == "proposed" and 0 <= c["score"] <= 1 and c["evidence"]["reasons"] for c in candidates)


def test_bad_rows_are_counted_in_stats(traced):
    status, _ = traced
    calls = status["stats"]["calls"]
    assert calls["bad"] == {"unparseable_number": 1, "unknown_direction": 1, "bad_timestamp": 1,
                            "negative_duration": 1}
    assert calls["bad_rows"] == 4 and calls["accepted"] == calls["rows"] - 4
    assert status["stats"]["set_aside"]["service"]["numbers"] >= 1


def test_progress_is_forwarded_from_the_engine_and_ends_at_one(session, submit, debtor_case, family_files):
    request_id = submit(debtor_case().id, *family_files).json["id"]
    seen: list[float] = []
    run_tracing_request(request_id, progress=seen.append)
    assert any(0 < fraction < 1 for fraction in seen)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_job_row_and_rq_meta_carry_progress(session, submit, debtor_case, family_files, run_worker):
    job_id = submit(debtor_case().id, *family_files).json["job_id"]
    run_worker()
    job = session.get(BackgroundJob, job_id)
    assert (job.status, job.progress) == (JobStatus.DONE, 1.0)
    assert Job.fetch(job.rq_job_id, connection=redis_conn.client).meta["progress"] == 1.0


def test_running_the_job_twice_leaves_one_set_of_candidates(session, submit, debtor_case, family_files):
    request_id = submit(debtor_case().id, *family_files).json["id"]
    first = run_tracing_request(request_id)
    assert run_tracing_request(request_id) == first
    numbers = session.scalars(sa.select(TracingCandidate.number_e164)
                              .where(TracingCandidate.request_id == request_id)).all()
    assert len(numbers) == len(set(numbers)) == first["candidates"] > 0


def test_an_attempt_that_finishes_second_keeps_the_first_attempts_candidates(session, submit, debtor_case,
                                                                              family_files, monkeypatch):
    from backend.tracing import jobs

    request_id = submit(debtor_case().id, *family_files).json["id"]
    real_trace, finished_meanwhile = jobs.run_trace, []

    def trace_while_another_attempt_finishes(*args, **kwargs):
        result = real_trace(*args, **kwargs)
        monkeypatch.setattr(jobs, "run_trace", real_trace)
        finished_meanwhile.append(run_tracing_request(request_id))  # a retry that ran to the end meanwhile
        return result

    monkeypatch.setattr(jobs, "run_trace", trace_while_another_attempt_finishes)
    assert run_tracing_request(request_id) == finished_meanwhile[0]
    numbers = session.scalars(sa.select(TracingCandidate.number_e164)
                              .where(TracingCandidate.request_id == request_id)).all()
    assert len(numbers) == len(set(numbers)) == finished_meanwhile[0]["candidates"] > 0
    traced = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "tracing.request.traced",
                                                         AuditEvent.subject_id == str(request_id))).all()
    assert len(traced) == 1


def test_candidates_of_an_interrupted_attempt_are_replaced(session, submit, debtor_case, family_files):
    case = debtor_case()
    request_id = submit(case.id, *family_files).json["id"]
    session.add(TracingCandidate(request_id=request_id, case_id=case.id, rank=1, number_e164="+8613012345678",
                                 kind="associate", score=0.5, evidence={}, flags=[]))
    session.commit()
    run_tracing_request(request_id)
    numbers = session.scalars(sa.select(TracingCandidate.number_e164)
                              .where(TracingCandidate.request_id == request_id)).all()
    assert "+8613012345678" not in numbers and e164(NEW) in numbers


def test_rejected_number_is_not_proposed_by_a_later_request(client, tracer, session, submit, debtor_case,
                                                           family_files, run_worker):
    case = debtor_case()
    contacts, calls = family_files
    first = submit(case.id, contacts, calls).json["id"]
    run_worker()
    new = session.scalar(sa.select(TracingCandidate).where(TracingCandidate.request_id == first,
                                                           TracingCandidate.number_e164 == e164(NEW)))
    client.post(f"/api/v1/tracing/candidates/{new.id}/reject", headers=tracer[1])
    second = submit(case.id, contacts, calls + b"13900000002,in,2026-11-20 20:00:00,60\n").json["id"]
    run_worker()
    numbers = session.scalars(sa.select(TracingCandidate.number_e164)
                              .where(TracingCandidate.request_id == second)).all()
    assert numbers and e164(NEW) not in numbers
    assert session.get(TracingRequest, second).stats["excluded"] == 1


def test_failed_request_can_be_submitted_again(session, submit, create_case, family_files, run_worker):
    case = create_case(phones=("+861",))  # a known number the engine cannot read: the job fails
    first = submit(case.id, *family_files).json["id"]
    run_worker()
    assert session.get(TracingRequest, first).job.status is JobStatus.FAILED
    again = submit(case.id, *family_files)
    assert again.status_code == 202 and again.json["id"] != first


def test_redis_flushed_after_submit_the_sweep_requeues_and_it_completes(session, submit, debtor_case,
                                                                      family_files, run_worker):
    body = submit(debtor_case().id, *family_files).json
    job = session.get(BackgroundJob, body["job_id"])
    # Redis loses the job and this run's queue entries (flush, failover).
    Job.fetch(job.rq_job_id, connection=redis_conn.client).delete(remove_from_queue=True)
    get_queue("tracing").empty()
    run_worker()
    assert session.get(BackgroundJob, job.id).status is JobStatus.QUEUED  # nothing to run: it was lost
    session.execute(sa.update(BackgroundJob).where(BackgroundJob.id == job.id)
                    .values(created_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    assert requeue_lost_jobs()["requeued"] == [job.id]
    run_worker()
    session.expire_all()
    assert session.get(BackgroundJob, job.id).status is JobStatus.DONE
    assert session.get(TracingRequest, body["id"]).candidate_count > 0


def _wait_for(predicate, timeout_s: float = 60.0, every_s: float = 0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("timed out waiting")


def test_worker_killed_mid_job_then_restarted_finishes_the_request_once(app, committed):
    tracer, case = add_user(committed, Role.TRACER), add_case(committed)
    committed.commit()
    contacts, calls = scenario_rows(extra_calls=200_000)  # JSON Lines: the row-by-row reader, a few seconds
    request, _ = submit_request(committed, case_id=case.id, legal_basis="court_order", requested_by_id=tracer.id,
                                files={"contacts": (io.BytesIO(as_csv(contacts)), "contacts.csv"),
                                       "calls": (io.BytesIO(as_json_lines(calls)), "calls.jsonl")})
    request_id, job_id = request.id, request.job_id
    first = worker_process(app, "--burst")

    def mid_job():
        committed.expire_all()
        job = committed.get(BackgroundJob, job_id)
        # Past the first progress write: the job has been streaming rows for a second or more.
        return job.status is JobStatus.RUNNING and 0.1 < job.progress < 1.0

    try:
        _wait_for(mid_job)
    finally:
        horses = kill_worker(first)
    assert len(horses) == 1
    _wait_for(lambda: gone(horses[0]), timeout_s=10)
    committed.expire_all()
    assert committed.get(BackgroundJob, job_id).status is JobStatus.RUNNING
    assert committed.scalar(sa.select(sa.func.count()).select_from(TracingCandidate)) == 0
    assert committed.scalar(sa.select(sa.func.count()).where(TracingUpload.request_id == request_id)) == 2

    # Time passes: the dead worker's heartbeat goes stale and the sweep hands the job to a new worker.
    committed.execute(sa.update(BackgroundJob).where(BackgroundJob.id == job_id).values(
        created_at=utcnow() - timedelta(minutes=5), heartbeat_at=utcnow() - timedelta(minutes=5)))
    committed.commit()
    assert requeue_lost_jobs()["requeued"] == [job_id]
    second = worker_process(app, "--burst")
    assert second.wait(timeout=120) == 0

    committed.expire_all()
    job = committed.get(BackgroundJob, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2), job.error
    numbers = committed.scalars(sa.select(TracingCandidate.number_e164)
                                .where(TracingCandidate.request_id == request_id)).all()
    assert len(numbers) == len(set(numbers)) == committed.get(TracingRequest, request_id).candidate_count > 0
    assert e164(NEW) in numbers
    traced = committed.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "tracing.request.traced",
                                                              AuditEvent.subject_id == str(request_id)))
    assert traced == 1
    assert committed.scalar(sa.select(sa.func.count()).where(TracingUpload.request_id == request_id)) == 0
