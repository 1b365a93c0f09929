"""Run an RQ worker (with RQ's scheduler) on the project's queues, plus the sweep scheduler.

    python -m worker                # worker + cron scheduler for the sweeps
    python -m worker --no-cron      # worker only (run the cron scheduler on one machine only)
    python -m worker --burst        # drain the queues and exit
"""
from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import os

from rq import Worker

from backend import create_app
from backend.extensions import db, redis_conn
from backend.queues import all_queues
from worker.cron import run_cron


def preload() -> None:
    """Import what jobs need in the parent: RQ forks a work horse per job, which then starts warm."""
    for module in ("numpy", "phonenumbers", "backend.jobs.service", "backend.health.jobs"):
        importlib.import_module(module)
    for optional in ("backend.tracing.engine", "backend.routing.solver", "polars", "pyvrp"):
        try:
            importlib.import_module(optional)
        except ImportError:
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="drain the queues and exit")
    parser.add_argument("--no-cron", action="store_true", help="do not run the sweep scheduler")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    if not args.no_cron and not args.burst:
        multiprocessing.get_context("spawn").Process(target=run_cron, name="fieldtrace-cron", daemon=True).start()

    app = create_app()
    preload()
    with app.app_context():
        # Each forked work horse must open its own database connections, never share the parent's.
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        db.engine.dispose()
        worker = Worker(all_queues(), connection=redis_conn.client)
        worker.work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
