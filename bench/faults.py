"""Faults at a larger scale than the tests: for each, what was in flight, what should be stored, what
was stored, and duplicates (expected = stored, duplicates = 0).

Run: .venv/bin/python bench/faults.py [--visits 100] [--traces 3] [--plans 2] [--identical 100]

Needs PostgreSQL (BENCH_DATABASE_ADMIN_URL) and Redis (BENCH_REDIS_URL, db 14); builds its own database.
The faults: Redis flushed with tracing requests and plans queued; a worker SIGKILLed mid-job (a plan and a
trace); N identical outcome submits at once; the database's connections terminated under load.
It reuses the fault helpers of tests/platform/test_faults.py, so the bench and the tests fault alike.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
RUN = uuid.uuid4().hex[:8]
PREFIX = f"faults{RUN}:"


def _admin():
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database() -> str:
    name = f"fieldtrace_faults_{RUN}"
    engine = _admin()
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    engine = _admin()
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def flush_redis(client) -> int:
    """What a FLUSHALL does to this deployment: every key of it gone (other users of the Redis untouched)."""
    keys = [k for pattern in (f"*{PREFIX}*", f"*{PREFIX[:-1]}-*") for k in client.scan_iter(match=pattern, count=1000)]
    if keys:
        client.delete(*keys)
    return len(keys)


def report(fault: str, in_flight: str, rows: list[tuple[str, int, int, int]]) -> bool:
    print(f"\n== {fault}")
    print(f"   in flight: {in_flight}")
    print(f"   {'what':<34} {'expected':>8} {'stored':>8} {'duplicates':>10}")
    ok = True
    for what, expected, stored, duplicates in rows:
        ok &= expected == stored and duplicates == 0
        print(f"   {what:<34} {expected:>8} {stored:>8} {duplicates:>10}")
    print(f"   -> {'OK' if ok else 'MISMATCH'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=100, help="visits in flight when the database fails")
    parser.add_argument("--traces", type=int, default=3)
    parser.add_argument("--plans", type=int, default=2)
    parser.add_argument("--identical", type=int, default=100, help="identical outcome submits at once")
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    from flask_migrate import upgrade
    from rq import SimpleWorker

    from backend import create_app
    from backend.auth.passwords import use_fast_hashing
    from backend.extensions import db, redis_conn
    from backend.jobs.models import BackgroundJob, JobStatus
    from backend.jobs.service import requeue_lost_jobs
    from backend.queues import all_queues
    from backend.visits.models import VisitStatus
    from tests.platform import test_faults as faults
    from tests.tracing.conftest import gone, kill_worker, worker_process
    from tests.visits.conftest import daytime_zone, new_key

    url = create_database()
    use_fast_hashing(True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL, "QUEUE_PREFIX": PREFIX,
                      "SECRET_KEY": os.environ["SECRET_KEY"], "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
                      "JOB_STALE_AFTER_S": 2})
    results = []
    try:
        with app.app_context():
            upgrade(revision="heads")
            session = db.session

            def drain():
                SimpleWorker(all_queues(), connection=redis_conn.client).work(burst=True)

            def job_rows(ids):
                session.expire_all()
                return [session.get(BackgroundJob, i) for i in ids]

            # 1. Redis flushed while tracing requests and plans wait in the queues.
            plans = [faults.seed_collector(session, visits=10) for _ in range(args.plans)]
            plan_jobs = [faults.queue_plan(session, user.id, time_limit_s=1) for user, _, _ in plans]
            traces = [faults.queue_trace(session) for _ in range(args.traces)]
            lost = flush_redis(redis_conn.client)
            jobs = plan_jobs + [job for _, job in traces]
            faults._age(session, *jobs)
            requeued = requeue_lost_jobs()["requeued"]
            drain()
            requeue_lost_jobs()
            drain()
            rows = job_rows(jobs)
            route_rows = [faults.route_counts(session, user.id) for user, _, _ in plans]
            cand = [faults.candidate_counts(session, request_id) for request_id, _ in traces]
            traced = sum(faults.audits(session, "tracing.request.traced", r) for r, _ in traces)
            results.append(report(
                "Redis flushed with work queued",
                f"{args.traces} tracing requests + {args.plans} plans queued; {lost} Redis keys lost; "
                f"{len(requeued)} re-enqueued by the sweep",
                [("jobs done", len(jobs), sum(j.status is JobStatus.DONE for j in rows),
                  sum(j.attempts for j in rows) - len(rows)),
                 ("routes (one per collector-day)", len(plans), sum(r for r, _, _ in route_rows),
                  sum(max(0, r - 1) for r, _, _ in route_rows)),
                 ("route stops", sum(len(v) for _, _, v in plans), sum(s for _, s, _ in route_rows),
                  sum(s - d for _, s, d in route_rows)),
                 ("tracing candidates", sum(e for _, _, e in cand), sum(s for s, _, _ in cand),
                  sum(s - d for s, d, _ in cand)),
                 ("traced audits (once per request)", len(traces), traced, max(0, traced - len(traces)))]))

            # 2. The worker SIGKILLed mid-job: a big trace, then a plan; the sweep hands them on.
            for kind in ("trace", "plan"):
                if kind == "trace":
                    request_id, job_id = faults.queue_trace(session, extra_calls=200_000)
                else:
                    user, _, visits = faults.seed_collector(session, visits=12)  # a full day: max_visits_per_day
                    job_id = faults.queue_plan(session, user.id, time_limit_s=4)
                first = worker_process(app, "--burst")
                started = time.monotonic()
                while time.monotonic() - started < 120:
                    [job] = job_rows([job_id])
                    if job.status is JobStatus.RUNNING and job.progress >= (0.1 if kind == "trace" else 0.05):
                        break
                    time.sleep(0.05)
                progress = job.progress
                horses = kill_worker(first)
                while not all(gone(pid) for pid in horses):
                    time.sleep(0.05)
                faults._age(session, job_id)
                requeue_lost_jobs()
                drain()
                [job] = job_rows([job_id])
                if kind == "trace":
                    stored, distinct, expected = faults.candidate_counts(session, request_id)
                    traced = faults.audits(session, "tracing.request.traced", request_id)
                    rows = [("job done, attempts", 2, job.attempts if job.status is JobStatus.DONE else 0, 0),
                            ("tracing candidates", expected, stored, stored - distinct),
                            ("traced audits", 1, traced, max(0, traced - 1))]
                else:
                    routes, stops, distinct = faults.route_counts(session, user.id)
                    rows = [("job done, attempts", 2, job.attempts if job.status is JobStatus.DONE else 0, 0),
                            ("routes", 1, routes, max(0, routes - 1)),
                            ("route stops", len(visits), stops, stops - distinct)]
                results.append(report(f"worker SIGKILLed mid-{kind}",
                                      f"one {kind} job at {progress:.0%}, killed with its work horse", rows))

            # 3. Identical outcome submits at once (a phone retrying on a bad network).
            _, headers, [visit_id] = faults.seed_collector(session, visits=1, status=VisitStatus.ASSIGNED,
                                                           zone=daytime_zone(14))
            key, body = new_key(), faults._outcome(visit_id)
            answers = faults.storm(app, headers, [(visit_id, body, key)] * args.identical)
            stored = faults.outcome_rows(session, {visit_id: key})[visit_id]
            statuses = Counter(status for status, *_ in answers)
            results.append(report(f"{args.identical} identical outcome submits at once",
                                  f"{args.identical} requests, one Idempotency-Key; answers {dict(statuses)}",
                                  [("outcome rows", 1, stored[0], max(0, stored[0] - 1)),
                                   ("contact attempts", 1, stored[1], max(0, stored[1] - 1)),
                                   ("idempotency records", 1, stored[2], max(0, stored[2] - 1))]))

            # 4. The database's connections terminated again and again under load.
            _, headers, visits = faults.seed_collector(session, visits=args.visits, status=VisitStatus.ASSIGNED,
                                                       zone=daytime_zone(14))
            keys = {v: new_key() for v in visits}
            bodies = {v: faults._outcome(v) for v in visits}
            database = db.engine.url.database
            killed = []
            first = faults.storm(app, headers, [(v, bodies[v], keys[v]) for v in visits],
                                 during=lambda: killed.append(faults.terminate_backends(database, 2.0)))
            statuses = Counter(status for status, *_ in first)
            without_retry_after = sum(1 for status, retry, _ in first if status == 503 and not retry)
            rows_after_fault = faults.outcome_rows(session, keys)
            half = sum(1 for row in rows_after_fault.values() if row not in ((0, 0, 0, "assigned"), (1, 1, 1, "done")))
            again = faults.storm(app, headers, [(v, bodies[v], keys[v]) for v in visits])
            final = faults.outcome_rows(session, keys)
            results.append(report(
                "PostgreSQL backends terminated under load",
                f"{args.visits} outcome submits; {sum(killed)} backends terminated over 2 s; answers {dict(statuses)} "
                f"({without_retry_after} 503s without Retry-After, {half} half-written); the retry answered "
                f"{dict(Counter(s for s, *_ in again))}",
                [("outcome rows", args.visits, sum(r[0] for r in final.values()),
                  sum(max(0, r[0] - 1) for r in final.values())),
                 ("contact attempts", args.visits, sum(r[1] for r in final.values()),
                  sum(max(0, r[1] - 1) for r in final.values())),
                 ("half-written after the fault", 0, half, 0),
                 ("503 without Retry-After", 0, without_retry_after, 0)]))
            db.session.remove()
            flush_redis(redis_conn.client)
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_database(url)
    print(f"\n{sum(results)}/{len(results)} faults: expected = stored, duplicates = 0")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
