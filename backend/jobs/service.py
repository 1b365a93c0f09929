"""Create, dispatch, run and recover background jobs. The row is the truth; Redis only carries work."""
from __future__ import annotations

import importlib
import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy.orm import Session

from backend.extensions import db, redis_conn
from backend.jobs.models import BackgroundJob, JobStatus
from backend.queues import enqueue
from backend.signals import job_finished
from backend.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
PROGRESS_WRITE_INTERVAL_S = 1.0
DISPATCH_GRACE_S = 5


def create_job(session: Session, *, kind: str, queue: str, func: str, args: dict,
               created_by_id: int | None) -> BackgroundJob:
    """Add a job row (queued) to the caller's transaction; then submit_job commits and enqueues it."""
    job = BackgroundJob(kind=kind, queue=queue, func=func, args=args, status=JobStatus.QUEUED, progress=0.0,
                        stats={}, attempts=0, enqueues=0, created_by_id=created_by_id, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def submit_job(session: Session, job_id: int) -> None:
    """Commit the caller's transaction (holding the job row create_job added), then enqueue the job.

    The one commit outside routes and jobs: a job may only reach a worker once its row (and what it
    works on) is committed. If Redis is down the row stays queued, the caller's answer stands, and the
    requeue-lost-jobs sweep enqueues it later.
    """
    session.commit()
    try:
        dispatch_job(session, job_id)
    except RedisError:
        session.rollback()
        log.warning("could not enqueue job %s now; the requeue sweep will", job_id, exc_info=True)


def dispatch_job(session: Session, job_id: int) -> None:
    """Put a committed job row on its queue (deterministic RQ id, so re-dispatch never doubles it)."""
    job = session.get(BackgroundJob, job_id)
    try:
        existing = Job.fetch(job.rq_job_id, connection=redis_conn.client)
        if existing.get_status(refresh=True) in ("queued", "started", "scheduled", "deferred"):
            return
        existing.delete()
    except NoSuchJobError:
        pass
    enqueue(job.queue, run_background_job, job.id, job_id=job.rq_job_id)
    job.enqueues += 1
    job.enqueued_at = utcnow()
    session.commit()


def get_job(session: Session, job_id: int) -> BackgroundJob | None:
    """Return the job row or None."""
    return session.get(BackgroundJob, job_id)


def _bookkeeping_commit(session_or_connection) -> None:
    """Commit a running job's claim or progress without waiting for the WAL flush.

    A durable commit waits for an fsync (about 5 ms here, more on a busy disk). Losing a claim or a
    progress write to a database crash is harmless: the job's own transaction dies with the crash, the
    job fails in RQ, and the requeue sweep runs it again. The durable commit after them (the finish)
    flushes them too, so they are never lost while later work survives.
    """
    session_or_connection.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    session_or_connection.commit()


def commit_job_work(session: Session) -> None:
    """Commit a job's work (run by run_background_job) without waiting for the WAL flush.

    The finish that follows it commits durably, and a durable commit flushes all WAL before it, so the
    work is on disk before anyone is told the job is done; only a database crash between the two can lose
    it, and then the finish is lost with it: the job is still queued or running, and the requeue sweep runs
    it again. A job's function must therefore be idempotent, as every job here already is.
    """
    _bookkeeping_commit(session)


class Progress:
    """Reports a running job's progress to its row and to RQ's job.meta, both throttled.

    The first report comes after PROGRESS_WRITE_INTERVAL_S: a job done sooner shows queued, running
    (progress 0, set by the claim), then done, and pays for no progress writes at all.
    """

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._last_write = time.monotonic()

    def __call__(self, fraction: float, stats: dict | None = None, *, force: bool = False) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        now = time.monotonic()
        due = force or now - self._last_write >= PROGRESS_WRITE_INTERVAL_S
        rq_job = get_current_job()
        if rq_job is not None and (due or fraction == 1.0):
            rq_job.meta["progress"] = fraction
            rq_job.save_meta()
        if not due:
            return
        self._last_write = now
        values = {"progress": fraction, "heartbeat_at": utcnow()}
        if stats is not None:
            values["stats"] = stats
        # Own short transaction: progress must be visible while the job's work is uncommitted.
        with db.engine.connect() as connection:
            connection.execute(sa.update(BackgroundJob).where(BackgroundJob.id == self.job_id).values(**values))
            _bookkeeping_commit(connection)


def _claim(job_id: int) -> tuple[str, dict] | None:
    """Mark the row running; return its (func, args), or None when it is already finished."""
    claimed = db.session.execute(
        sa.update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .values(status=JobStatus.RUNNING, attempts=BackgroundJob.attempts + 1, started_at=utcnow(),
                heartbeat_at=utcnow(), error=None, error_code=None)
        .returning(BackgroundJob.func, BackgroundJob.args)
    ).one_or_none()
    _bookkeeping_commit(db.session)
    return (claimed.func, dict(claimed.args)) if claimed else None


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_background_job(job_id: int) -> dict | None:
    """The RQ entry point: run a job row's function once and record the outcome on the row."""
    claimed = _claim(job_id)
    if claimed is None:
        log.info("job %s is already finished; nothing to do", job_id)
        return None
    func, args = _resolve(claimed[0]), claimed[1]
    progress = Progress(job_id)
    try:
        result = func(**args, progress=progress)
    except Exception as exc:  # the row must say what went wrong; the worker keeps going
        db.session.rollback()
        log.exception("job %s failed", job_id)
        _finish(job_id, JobStatus.FAILED, error=job_error(exc, job_id))
        return None
    _finish(job_id, JobStatus.DONE, result=result)
    return result


# The longest message a client sees; anything longer was never written for them.
ERROR_MESSAGE_MAX = 200


def job_error(exc: Exception, job_id: int) -> tuple[str, str]:
    """(code, message) a client may see: a rule's refusal (DomainError, or an exception that carries a
    `code`) says what it is; anything else is `internal_error`, its text and traceback only in the log."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, str) and code and isinstance(message, str) and message:
        return code[:60], message[:ERROR_MESSAGE_MAX]
    return "internal_error", f"the job failed unexpectedly; the worker's log has the details (job {job_id})"


def _finish(job_id: int, status: JobStatus, *, result=None, error: tuple[str, str] | None = None) -> None:
    code, message = error or (None, None)
    values = {"status": status, "finished_at": utcnow(), "heartbeat_at": utcnow(), "error": message,
              "error_code": code}
    if status is JobStatus.DONE:
        values.update(progress=1.0, result=result if isinstance(result, dict) else None)
    # The row as updated, from the UPDATE itself (RETURNING): no second read. The UPDATE's row lock is held
    # until the commit below, so what the receivers see is what commits.
    job = db.session.scalars(sa.update(BackgroundJob).where(BackgroundJob.id == job_id).values(**values)
                             .returning(BackgroundJob)
                             .execution_options(synchronize_session=False, populate_existing=True)).one_or_none()
    if job is not None:
        # Whoever waits on it hears of the outcome, with it (a receiver's message commits with the row).
        job_finished.send(job, session=db.session, status=status.value, error=message)
    # Durable: once RQ records the job finished, the requeue sweep no longer looks after a lost finish.
    db.session.commit()


def _rq_status(job: BackgroundJob) -> str | None:
    try:
        return Job.fetch(job.rq_job_id, connection=redis_conn.client).get_status(refresh=True)
    except NoSuchJobError:
        return None


def requeue_lost_jobs(stale_after_s: int | None = None) -> dict:
    """Sweep: re-enqueue jobs whose RQ job vanished or whose worker died; give up after MAX_ATTEMPTS."""
    stale_after_s = stale_after_s or current_app.config.get("JOB_STALE_AFTER_S", 120)
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    candidates = db.session.scalars(
        sa.select(BackgroundJob).where(
            BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            # Leave a just-committed row to the request that is about to enqueue it.
            BackgroundJob.created_at < utcnow() - timedelta(seconds=DISPATCH_GRACE_S))
    ).all()
    requeued, failed = [], []
    for job in candidates:
        status = _rq_status(job)
        lost = status in (None, "failed", "stopped", "canceled")
        if job.status is JobStatus.RUNNING and status == "started":
            # The worker may have died mid-job: trust the heartbeat, not RQ's registry.
            lost = job.heartbeat_at is not None and job.heartbeat_at < cutoff
        if not lost:
            continue
        if job.attempts >= MAX_ATTEMPTS:
            _finish(job.id, JobStatus.FAILED,
                    error=("worker_lost", f"gave up after {job.attempts} attempts (the worker was lost)"))
            failed.append(job.id)
            continue
        job.status = JobStatus.QUEUED
        db.session.commit()
        try:
            Job.fetch(job.rq_job_id, connection=redis_conn.client).delete()
        except NoSuchJobError:
            pass
        dispatch_job(db.session, job.id)
        requeued.append(job.id)
    return {"requeued": requeued, "failed": failed}
