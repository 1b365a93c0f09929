"""Run an RQ worker (with RQ's scheduler) on the project's queues, plus the sweep scheduler.

    python -m worker                # worker + cron scheduler for the sweeps
    python -m worker --no-cron      # worker only (run the cron scheduler on one machine only)
    python -m worker --burst        # drain the queues and exit
    python -m worker --no-fork --queues tracing
                                    # run jobs in this process, warm (see below)

By default RQ forks a work horse per job: a job that leaks or crashes cannot hurt the worker. For
short, frequent jobs the fork costs more than the job (a fresh database connection, cold polars
and SQLAlchemy caches), so a worker dedicated to such a queue may run them in-process instead;
the database row stays the truth, and the lost-job sweep covers a worker that dies mid-job.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import logging
import multiprocessing
import os

from backend import create_app
from backend.extensions import db, redis_conn
from backend.queues import SimpleWorker, Worker, all_queues, get_queue
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


def warm_in_process() -> None:
    """Run one tiny trace so polars' pool and code paths are warm (only safe when nothing forks)."""
    try:
        from backend.tracing.engine import run_trace
    except ImportError:
        return
    calls = b"number,direction,started_at,duration_s\n13900000002,out,2026-01-05 10:00:00,60\n"
    contacts = "name,number\n妈妈,13900000002\n".encode()
    run_trace(contacts, calls, debtor_numbers=["13800000000"], debtor_name="张三")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="drain the queues and exit")
    parser.add_argument("--no-cron", action="store_true", help="do not run the sweep scheduler")
    parser.add_argument("--no-fork", action="store_true", help="run jobs in this process (warm, no fork)")
    parser.add_argument("--queues", nargs="+", help="only these workload queues (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    if not args.no_cron and not args.burst:
        multiprocessing.get_context("spawn").Process(target=run_cron, name="fieldtrace-cron", daemon=True).start()

    app = create_app()
    preload()
    with app.app_context():
        queues = [get_queue(name) for name in args.queues] if args.queues else all_queues()
        if args.no_fork:
            warm_in_process()
            worker = SimpleWorker(queues, connection=redis_conn.client)
        else:
            # Each forked work horse must open its own database connections, never share the parent's.
            os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
            db.engine.dispose()
            worker = Worker(queues, connection=redis_conn.client)
        # What is loaded by now lives as long as the process: frozen, the collector stops re-scanning it
        # on every full collection a job's allocations trigger (several ms each in an everyday trace),
        # and a forked work horse does not write to its pages when it collects.
        gc.freeze()
        worker.work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
