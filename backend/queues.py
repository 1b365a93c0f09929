"""RQ queues: named by workload, with connection, timeouts, TTLs and retries fixed in one place."""
from __future__ import annotations

from dataclasses import dataclass

import rq
from flask import current_app
from rq import Queue, Retry
from rq.job import Job

from backend.extensions import redis_conn


@dataclass(frozen=True)
class QueueSpec:
    name: str
    timeout_s: int
    retries: int


# Safety first: a worker listens to queues in this order.
QUEUES = (
    QueueSpec("safety", timeout_s=60, retries=2),
    # Message delivery (backend/notify): right after safety, whose alerts it carries.
    QueueSpec("notify", timeout_s=180, retries=2),
    QueueSpec("periodic", timeout_s=300, retries=0),
    QueueSpec("planning", timeout_s=900, retries=1),
    QueueSpec("tracing", timeout_s=1800, retries=2),
    QueueSpec("geocode", timeout_s=3600, retries=2),
    QueueSpec("default", timeout_s=300, retries=1),
)
_SPECS = {spec.name: spec for spec in QUEUES}
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 7 * 24 * 3600


def queue_name(name: str) -> str:
    """The Redis name of a workload queue (prefixed per deployment)."""
    return f"{current_app.config.get('QUEUE_PREFIX', '')}{name}"


def get_queue(name: str) -> Queue:
    """Return the RQ queue for a workload."""
    if name not in _SPECS:
        raise KeyError(f"unknown queue {name!r}")
    return Queue(queue_name(name), connection=redis_conn.client, default_timeout=_SPECS[name].timeout_s)


def all_queues() -> list[Queue]:
    """Every workload queue, in priority order."""
    return [get_queue(spec.name) for spec in QUEUES]


def enqueue(queue: str, func, *args, job_id: str | None = None, **kwargs) -> Job:
    """Enqueue func(*args, **kwargs) on a workload queue with our timeouts, TTLs and retries."""
    spec = _SPECS[queue]
    return get_queue(queue).enqueue(
        func, *args, **kwargs, job_id=job_id, result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        retry=Retry(max=spec.retries, interval=[10, 60, 300][: spec.retries]) if spec.retries else None,
    )


class _QuickUnsubscribe:
    """RQ 3.0 unsubscribes, then stops its pub/sub thread with redis-py's `stop()`, which since redis 8.2
    waits for the thread; the thread may read the unsubscribe confirmation in between, find nothing
    subscribed and wait out its whole 60 s poll: a burst worker then took a minute to exit. Clearing the
    thread's run flag first (stop without waiting) lets it end as soon as the confirmation arrives; wait
    one second at most (the thread is a daemon)."""

    def unsubscribe(self):
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            self.pubsub_thread.stop(timeout=0)
            self.pubsub.unsubscribe()
            self.pubsub_thread.join(timeout=1)
            self.pubsub.close()


class Worker(_QuickUnsubscribe, rq.Worker):
    """RQ's forking worker (one work horse per job)."""


class SimpleWorker(_QuickUnsubscribe, rq.SimpleWorker):
    """RQ's in-process worker."""
