"""The sweep scheduler: RQ's CronScheduler enqueueing every sweep in SWEEPS at its interval."""
from __future__ import annotations

import importlib
import os

from rq.cron import CronScheduler

from backend import create_app
from backend.extensions import redis_conn
from backend.queues import get_queue
from worker.sweeps import SWEEPS


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_scheduler() -> CronScheduler:
    """A scheduler with every sweep registered under its stable name (needs an app context)."""
    scheduler = CronScheduler(connection=redis_conn.client, name=f"fieldtrace-cron-{os.getpid()}")
    for sweep in SWEEPS:
        scheduler.register(_resolve(sweep.func), queue_name=get_queue(sweep.queue).name,
                           interval=sweep.interval_s, name=sweep.name,
                           job_timeout=max(sweep.interval_s, 60), result_ttl=600)
    return scheduler


def run_cron() -> None:
    """Enqueue every sweep at its interval until stopped."""
    app = create_app()
    with app.app_context():
        build_scheduler().start()
