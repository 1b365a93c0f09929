"""Delivery: jobs on the `notify` queue claim due rows in batches and send them in parallel.

Throughput: a job claims up to NOTIFY_BATCH_SIZE due rows at once (`FOR UPDATE SKIP LOCKED`, so
parallel jobs never take the same row), sends them through a bounded thread pool over keep-alive
HTTP clients, records the outcomes in one round trip, and claims again until nothing is due.
Several jobs run in parallel (NOTIFY_PARALLEL_JOBS, on as many workers).

Never twice: a row is sent only by the job whose UPDATE moved it `queued -> sending`. A row left in
`sending` by a worker that died mid-send is not resent (the provider may have it): the sweep marks
it `failed` with the reason, which for an alert message raises the next level at once.
Retries: a refused or unanswered message goes back to `queued` with the policy's backoff
(`notify.retry_backoff_s`) until `notify.max_attempts`; then `failed`. The job itself crashing
(database down) is retried by RQ's Retry (backend/queues.py).
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.notify.providers import UNCONFIGURED, DeliveryError, Message, providers_for
from backend.notify.service import KICK_FLAG
from backend.policy.service import default_policy
from backend.queues import enqueue, get_queue
from backend.signals import notification_failed
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

QUEUE = "notify"
DEFAULTS = {"NOTIFY_BATCH_SIZE": 100, "NOTIFY_THREADS": 8, "NOTIFY_PARALLEL_JOBS": 4, "NOTIFY_JOB_BUDGET_S": 90}

CLAIM = sa.text("""
UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, claimed_at = :now
FROM (SELECT id FROM notifications
      WHERE status = 'queued' AND not_before <= :now
      ORDER BY not_before, id LIMIT :limit
      FOR UPDATE SKIP LOCKED) due
WHERE n.id = due.id
RETURNING n.id, n.channel, n.user_id, n.to_phone, n.to_email, n.to_push, n.template, n.locale, n.params,
          n.text, n.alert_id, n.level, n.created_at, n.attempts, n.max_attempts
""")

MARK_SENT = sa.text("""
UPDATE notifications SET status = 'sent', provider = :provider, provider_message_id = :provider_message_id,
       sent_at = :now, finished_at = :now, last_error = NULL
WHERE id = :id AND status = 'sending'
""")
MARK_RETRY = sa.text("""
UPDATE notifications SET status = 'queued', not_before = :not_before, last_error = :error, provider = :provider
WHERE id = :id AND status = 'sending'
""")
# All of a batch's failures in one statement (a deployment without a provider fails every row of a
# mass alert): the rows travel as one JSON parameter, as in the outbox's own insert.
MARK_FAILED = sa.text("""
UPDATE notifications n SET status = 'failed', finished_at = :now, last_error = r.error, provider = r.provider
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(id integer, error text, provider text)
WHERE n.id = r.id AND n.status = 'sending'
RETURNING n.id, n.alert_id, n.level, n.user_id, n.channel, r.error
""")


def setting(name: str) -> int:
    return int(current_app.config.get(name) or DEFAULTS[name])


_pools: dict[int, ThreadPoolExecutor] = {}
_pool_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """One pool per size, kept for the worker's life (an in-process worker reuses its threads)."""
    with _pool_lock:
        if size not in _pools:
            _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="notify")
        return _pools[size]


def _message(row) -> Message:
    phone = row.to_phone
    return Message(id=row.id, channel=row.channel, template=row.template, text=row.text, locale=row.locale,
                   params=row.params or {}, user_id=row.user_id, phone=phone, email=row.to_email,
                   push_to=row.to_push, alert_id=row.alert_id, level=row.level,
                   created_at=row.created_at.isoformat())


def _send(providers, row) -> tuple[str, str | None, str | None, bool]:
    """(provider name, provider message id or None, error or None, permanent)."""
    message = _message(row)
    name = "-"
    try:
        provider = providers.for_message(message)
        name = provider.name
        return name, provider.send(message) or f"{name}-{row.id}", None, False
    except DeliveryError as exc:
        return name, None, str(exc)[:1000], exc.permanent
    except Exception as exc:  # a provider bug must not lose the row: record it and retry like any error
        log.exception("provider %s crashed on notification %s", name, row.id)
        return name, None, f"{type(exc).__name__}: {exc}"[:1000], False


def claim(session: Session, *, limit: int, now: datetime) -> list:
    """Move up to `limit` due rows to `sending` and commit: from here on only this job sends them."""
    rows = session.execute(CLAIM, {"now": now, "limit": limit}).all()
    session.commit()
    return rows


def record(session: Session, rows: list, outcomes: list, *, now: datetime) -> dict:
    """Store each outcome; a row out of attempts (or refused for good) fails and tells the signal."""
    backoff = list(default_policy()["notify.retry_backoff_s"])
    sent, retry, fail = [], [], []
    for row, (provider, message_id, error, permanent) in zip(rows, outcomes, strict=True):
        if error is None:
            sent.append({"id": row.id, "provider": provider, "provider_message_id": message_id, "now": now})
        elif permanent or row.attempts >= row.max_attempts:
            fail.append({"id": row.id, "error": error, "provider": provider})
        else:
            wait = backoff[min(row.attempts - 1, len(backoff) - 1)] if backoff else 0
            retry.append({"id": row.id, "error": error, "provider": provider,
                          "not_before": now + timedelta(seconds=wait)})
    if sent:
        session.execute(MARK_SENT, sent)
    if retry:
        session.execute(MARK_RETRY, retry)
    failed = []
    if fail:
        result = session.execute(MARK_FAILED, {"rows": json.dumps(fail), "now": now})
        failed = sorted((row._asdict() for row in result), key=lambda row: row["id"])
    undeliverable = [row for row in failed if not row["error"].startswith(UNCONFIGURED)]
    if undeliverable:
        notification_failed.send(None, session=session, failed=undeliverable, now=now)
    session.commit()
    if retry:
        _schedule_retry(min(r["not_before"] for r in retry))
    return {"sent": len(sent), "retried": len(retry), "failed": len(failed)}


def _schedule_retry(at: datetime) -> None:
    """Ask RQ's scheduler for a delivery run when the first retry is due (the sweep is the backstop)."""
    try:
        get_queue(QUEUE).enqueue_at(at, deliver_due)
    except RedisError:
        log.warning("could not schedule a notification retry; the notify sweep will", exc_info=True)


def deliver_due(budget_s: float | None = None, now: datetime | None = None) -> dict:
    """The delivery job: claim, send and record batches until nothing is due (or the time budget is spent).

    `now` fixes the clock (tests and the benchmark replay moments); a worker passes nothing.
    """
    budget_s = budget_s if budget_s is not None else setting("NOTIFY_JOB_BUDGET_S")
    started = time.monotonic()
    providers = providers_for(current_app.config)
    pool = _pool(setting("NOTIFY_THREADS"))
    batch = setting("NOTIFY_BATCH_SIZE")
    totals = {"sent": 0, "retried": 0, "failed": 0, "batches": 0}
    session = db.session
    try:
        while True:
            rows = claim(session, limit=batch, now=now or utcnow())
            if not rows:
                break
            outcomes = list(pool.map(lambda row: _send(providers, row), rows))
            result = record(session, rows, outcomes, now=now or utcnow())
            totals["batches"] += 1
            for key in ("sent", "retried", "failed"):
                totals[key] += result[key]
            if time.monotonic() - started > budget_s:
                kick()  # more may be due: a fresh job carries on, this one ends within its timeout
                break
    except Exception:
        session.rollback()
        raise
    return totals


def kick(pending: int | None = None) -> int:
    """Put enough delivery jobs on the queue for `pending` due rows (at most NOTIFY_PARALLEL_JOBS waiting)."""
    parallel, batch = setting("NOTIFY_PARALLEL_JOBS"), setting("NOTIFY_BATCH_SIZE")
    wanted = parallel if pending is None else max(1, min(parallel, math.ceil(pending / batch)))
    missing = max(0, wanted - get_queue(QUEUE).count)
    for _ in range(missing):
        enqueue(QUEUE, deliver_due)
    return missing


def kick_after_commit(session: Session) -> None:
    """Session hook: a transaction that added messages has committed, so delivery may start now."""
    pending = session.info.pop(KICK_FLAG, 0)
    if not pending:
        return
    try:
        kick(pending)
    except RedisError:
        log.warning("could not enqueue notification delivery; the notify sweep will", exc_info=True)
    except RuntimeError:  # outside an app context (a script's own engine): the sweep delivers
        log.warning("no app context to enqueue notification delivery; the notify sweep will")


def forget_kick(session: Session, *_args) -> None:
    """Rolled back: the messages were never written, nothing to deliver."""
    session.info.pop(KICK_FLAG, None)


STALE_SENDING = sa.text("""
UPDATE notifications SET status = 'failed', finished_at = :now,
       last_error = 'outcome unknown: the delivery worker stopped while sending; not resent so it cannot arrive twice'
WHERE status = 'sending' AND claimed_at < :cutoff
RETURNING id, alert_id, level, user_id, channel
""")


def sweep_notifications(now: datetime | None = None) -> dict:
    """The notify lost-job sweep: due queued rows get a delivery job (Redis flushed, enqueue failed,
    a retry or a held message now due); rows stuck in `sending` are failed, never resent."""
    now = now or utcnow()
    session = db.session
    try:
        stale_s = default_policy()["notify.sending_stale_s"]
        stuck = [row._asdict() | {"error": "delivery worker lost"}
                 for row in session.execute(STALE_SENDING, {"now": now, "cutoff": now - timedelta(seconds=stale_s)})]
        if stuck:
            notification_failed.send(None, session=session, failed=stuck, now=now)
        due = session.scalar(sa.text(
            "SELECT count(*) FROM notifications WHERE status = 'queued' AND not_before <= :now"), {"now": now})
        session.commit()
    except Exception:
        session.rollback()
        raise
    kicked = kick(due) if due else 0
    return {"stuck_failed": len(stuck), "due": due, "jobs_enqueued": kicked}
