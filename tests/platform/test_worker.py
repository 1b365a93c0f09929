"""The API -> Redis -> worker -> database round trip, and jobs that survive lost workers."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from rq.job import Job

from backend.extensions import redis_conn
from backend.health.jobs import ping_worker
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import create_job, dispatch_job, requeue_lost_jobs, run_background_job
from backend.queues import enqueue


def test_health_job_round_trip_in_burst_worker(app, session, run_worker):
    nonce = uuid.uuid4().hex
    job = enqueue("default", ping_worker, nonce)
    run_worker()
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == {"nonce": nonce, "pid": os.getpid(), "database": True}


@pytest.mark.parametrize("mode", [(), ("--no-fork", "--queues", "default")], ids=["forking", "in-process"])
def test_python_m_worker_burst_runs_a_job(app, committed, mode):
    """The real entry point, as deployed: `python -m worker --burst` in its own process."""
    nonce = uuid.uuid4().hex
    job = enqueue("default", ping_worker, nonce)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "QUEUE_PREFIX": app.config["QUEUE_PREFIX"]}
    subprocess.run([sys.executable, "-m", "worker", "--burst", *mode], env=env, check=True, timeout=60,
                   capture_output=True)
    job.refresh()
    assert job.return_value()["nonce"] == nonce
    assert job.return_value()["pid"] != os.getpid()


def add_numbers(a: int, b: int, progress) -> dict:
    progress(0.5, {"halfway": True}, force=True)
    return {"sum": a + b}


def explode(progress) -> dict:
    raise ValueError("the uploaded file has no rows")


def test_tracked_job_records_result_on_its_row(app, committed, run_worker):
    job = create_job(committed, kind="test", queue="default", func=f"{__name__}.add_numbers",
                     args={"a": 2, "b": 3}, created_by_id=None)
    committed.commit()
    dispatch_job(committed, job.id)
    run_worker()
    committed.expire_all()
    row = committed.get(BackgroundJob, job.id)
    assert (row.status, row.result, row.progress, row.attempts) == (JobStatus.DONE, {"sum": 5}, 1.0, 1)
    assert row.stats == {"halfway": True}


def test_failed_job_says_what_failed_on_its_row_without_the_exception_text(app, committed, run_worker):
    job = create_job(committed, kind="test", queue="default", func=f"{__name__}.explode", args={},
                     created_by_id=None)
    committed.commit()
    dispatch_job(committed, job.id)
    run_worker()
    committed.expire_all()
    row = committed.get(BackgroundJob, job.id)
    assert row.status is JobStatus.FAILED
    assert row.error_code == "internal_error" and "no rows" not in row.error and f"job {job.id}" in row.error


def test_finished_job_is_not_run_twice(app, committed):
    job = create_job(committed, kind="test", queue="default", func=f"{__name__}.add_numbers",
                     args={"a": 1, "b": 1}, created_by_id=None)
    committed.commit()
    assert run_background_job(job.id) == {"sum": 2}
    assert run_background_job(job.id) is None
    committed.expire_all()
    assert committed.get(BackgroundJob, job.id).attempts == 1


def test_sweep_requeues_a_job_whose_redis_entry_vanished(app, committed, run_worker):
    job = create_job(committed, kind="test", queue="default", func=f"{__name__}.add_numbers",
                     args={"a": 4, "b": 4}, created_by_id=None)
    committed.commit()
    dispatch_job(committed, job.id)
    # Redis loses everything it held about the job (flushed, failed over).
    Job.fetch(job.rq_job_id, connection=redis_conn.client).delete(remove_from_queue=True)
    committed.execute(BackgroundJob.__table__.update().values(created_at=BackgroundJob.created_at - _minutes(1)))
    committed.commit()
    assert requeue_lost_jobs()["requeued"] == [job.id]
    run_worker()
    committed.expire_all()
    assert committed.get(BackgroundJob, job.id).result == {"sum": 8}


def _minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)


def test_running_job_with_dead_worker_is_requeued_after_heartbeat_goes_stale(app, committed, run_worker):
    job = create_job(committed, kind="test", queue="default", func=f"{__name__}.add_numbers",
                     args={"a": 1, "b": 2}, created_by_id=None)
    committed.commit()
    dispatch_job(committed, job.id)
    # A worker took it and died: the row says running, RQ says started, nobody heartbeats.
    rq_job = Job.fetch(job.rq_job_id, connection=redis_conn.client)
    rq_job.set_status("started")
    past = BackgroundJob.created_at - _minutes(5)
    committed.execute(BackgroundJob.__table__.update().values(
        status=JobStatus.RUNNING, attempts=1, created_at=past, heartbeat_at=past))
    committed.commit()
    time.sleep(0.1)
    assert requeue_lost_jobs()["requeued"] == [job.id]
    run_worker()
    committed.expire_all()
    row = committed.get(BackgroundJob, job.id)
    assert (row.status, row.result, row.attempts) == (JobStatus.DONE, {"sum": 3}, 2)
