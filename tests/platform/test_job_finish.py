"""A job's finish: the row the job_finished receivers get is the row as finished, straight from the UPDATE."""
from __future__ import annotations

from backend.jobs.models import JobStatus
from backend.jobs.service import _finish, create_job
from backend.signals import job_finished


def test_receivers_get_the_finished_row_even_when_the_session_already_held_the_job(session):
    job = create_job(session, kind="route_plan", queue="planning", func="x.y", args={}, created_by_id=None)
    assert (job.status, job.progress) == (JobStatus.QUEUED, 0.0)  # loaded in the session, as queued
    seen = []

    def receiver(row, **_):
        seen.append((row is job, row.status, row.progress, row.result, row.finished_at is not None))

    job_finished.connect(receiver)
    try:
        _finish(job.id, JobStatus.DONE, result={"stats": {"routes": 2}})
    finally:
        job_finished.disconnect(receiver)
    assert seen == [(True, JobStatus.DONE, 1.0, {"stats": {"routes": 2}}, True)]
