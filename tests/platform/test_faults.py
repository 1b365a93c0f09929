"""Faults, each proving nothing is lost or doubled (real PostgreSQL, Redis, worker processes):
Redis flushed with work queued, a worker SIGKILLed mid-job, 50 identical submits at once, and the
database's connections terminated under load. bench/faults.py runs the same faults at a larger scale."""
from __future__ import annotations

import io
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.access import issue_token
from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress, CasePhone
from backend.contacts.models import ContactAttempt
from backend.extensions import db
from backend.geo import make_point
from backend.idempotency import IdempotencyRecord
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import create_job, requeue_lost_jobs, submit_job
from backend.planning.models import Route, RouteStop
from backend.policy.service import ensure_default_portfolio
from backend.timeutil import utcnow
from backend.tracing.models import TracingCandidate, TracingRequest
from backend.tracing.service import submit_request
from backend.visits.models import VisitOutcome, VisitStatus
from backend.visits.requests import request_visit
from tests.conftest import ADMIN_URL, _clear_redis
from tests.factories import CENTRE
from tests.threads import at_once
from tests.tracing.conftest import as_csv, gone, kill_worker, scenario_rows, worker_process
from tests.visits.conftest import daytime_zone, new_key, plan_day

OLD_NUMBER = "+8613800000001"


def seed_collector(session, *, visits: int, status=VisitStatus.SCHEDULED, zone="Asia/Shanghai", day=None):
    """A collector at the centre and `visits` visits near it (committed); returns (user, headers, ids)."""
    n = time.monotonic_ns()
    user = create_user(session, username=f"fault{n}", password="correct-horse", name="Fault", role=Role.COLLECTOR,
                       home={"lat": CENTRE[0], "lon": CENTRE[1]})
    portfolio = ensure_default_portfolio(session)
    ids = []
    for i in range(visits):
        case = Case(external_ref=f"F-{n}-{i}", portfolio_id=portfolio.id, debtor_name="Debtor",
                    amount_due=Decimal("100.00"), currency="CNY", days_past_due=30, timezone=zone)
        session.add(case)
        session.flush()
        lat, lon = CENTRE[0] + (i % 7) * 0.002, CENTRE[1] + (i // 7) * 0.002
        session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text=f"addr {i}", location=make_point(lat, lon)))
        session.add(CasePhone(case_id=case.id, number_e164=f"+861380013{i:04d}", kind="mobile", source="import"))
        session.flush()
        visit = request_visit(session, case_id=case.id, kind="confirm")
        visit.status = status
        if status is VisitStatus.ASSIGNED:
            visit.collector_id, visit.scheduled_date = user.id, day or plan_day()
        ids.append(visit.id)
    session.commit()
    token, _ = issue_token(user)
    return user, {"Authorization": f"Bearer {token}"}, ids


def queue_plan(session, collector_id: int, *, time_limit_s: float) -> int:
    job = create_job(session, kind="route_plan", queue="planning", func="backend.planning.jobs.plan_routes_job",
                     args={"plan_date": plan_day().isoformat(), "collector_ids": [collector_id], "visit_ids": None,
                           "actor_id": None, "time_limit_s": time_limit_s}, created_by_id=None)
    submit_job(session, job.id)
    return job.id


def queue_trace(session, *, extra_calls: int = 0) -> tuple[int, int]:
    tracer = create_user(session, username=f"tracer{time.monotonic_ns()}", password="correct-horse", name="T",
                         role=Role.TRACER)
    portfolio = ensure_default_portfolio(session)
    case = Case(external_ref=f"FT-{time.monotonic_ns()}", portfolio_id=portfolio.id, debtor_name="张小明",
                amount_due=Decimal("5000.00"), currency="CNY", days_past_due=40, timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    session.add(CasePhone(case_id=case.id, number_e164=OLD_NUMBER, kind="mobile", source="import"))
    session.commit()
    contacts, calls = scenario_rows(extra_calls=extra_calls)
    request, _ = submit_request(session, case_id=case.id, legal_basis="court_order", requested_by_id=tracer.id,
                                files={"contacts": (io.BytesIO(as_csv(contacts)), "contacts.csv"),
                                       "calls": (io.BytesIO(as_csv(calls)), "calls.csv")})
    return request.id, request.job_id


def route_counts(session, collector_id: int) -> tuple[int, int, int]:
    """(routes, stops, distinct visits on them) of the collector's plan day."""
    routes = session.scalar(sa.select(sa.func.count()).select_from(Route).where(
        Route.collector_id == collector_id, Route.plan_date == plan_day()))
    visit_ids = session.scalars(sa.select(RouteStop.visit_id).join(Route, Route.id == RouteStop.route_id).where(
        Route.collector_id == collector_id, Route.plan_date == plan_day())).all()
    return routes, len(visit_ids), len(set(visit_ids))


def candidate_counts(session, request_id: int) -> tuple[int, int, int]:
    """(stored candidates, distinct numbers, the request's own count)."""
    numbers = session.scalars(sa.select(TracingCandidate.number_e164)
                              .where(TracingCandidate.request_id == request_id)).all()
    return len(numbers), len(set(numbers)), session.get(TracingRequest, request_id).candidate_count


def audits(session, action: str, subject_id=None) -> int:
    query = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == str(subject_id))
    return session.scalar(query)


def _age(session, *job_ids: int) -> None:
    """Time passes: the rows look old enough (and their heartbeats stale) for the lost-job sweep."""
    session.execute(sa.update(BackgroundJob).where(BackgroundJob.id.in_(job_ids)).values(
        created_at=utcnow() - timedelta(minutes=5), heartbeat_at=utcnow() - timedelta(minutes=5)))
    session.commit()


def test_redis_flushed_with_a_trace_and_a_plan_queued_both_finish_exactly_once(app, committed, run_worker):
    user, _, visits = seed_collector(committed, visits=6)
    plan_job = queue_plan(committed, user.id, time_limit_s=0.5)
    request_id, trace_job = queue_trace(committed)
    _clear_redis(app)  # Redis loses every job and queue entry of this deployment
    run_worker()
    committed.expire_all()
    assert {committed.get(BackgroundJob, j).status for j in (plan_job, trace_job)} == {JobStatus.QUEUED}
    _age(committed, plan_job, trace_job)
    assert sorted(requeue_lost_jobs()["requeued"]) == sorted([plan_job, trace_job])
    run_worker()
    assert requeue_lost_jobs()["requeued"] == []  # done is done: the sweep never runs them again
    run_worker()
    committed.expire_all()
    for job_id in (plan_job, trace_job):
        job = committed.get(BackgroundJob, job_id)
        assert (job.status, job.attempts) == (JobStatus.DONE, 1), job.error
    assert route_counts(committed, user.id) == (1, len(visits), len(visits))
    stored, distinct, expected = candidate_counts(committed, request_id)
    assert stored == distinct == expected > 0
    assert audits(committed, "tracing.request.traced", request_id) == 1 and audits(committed, "routes.plan") == 1


def _wait_for(predicate, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_worker_sigkilled_mid_plan_is_rerun_by_the_sweep_without_duplicate_routes(app, committed, run_worker):
    user, _, visits = seed_collector(committed, visits=12)
    job_id = queue_plan(committed, user.id, time_limit_s=3)
    first = worker_process(app, "--burst")

    def solving():
        committed.expire_all()
        job = committed.get(BackgroundJob, job_id)
        return job.status is JobStatus.RUNNING and job.progress >= 0.05  # inputs read, the solver runs

    try:
        _wait_for(solving)
    finally:
        horses = kill_worker(first)
    _wait_for(lambda: all(gone(pid) for pid in horses), timeout_s=10)
    committed.expire_all()
    assert committed.get(BackgroundJob, job_id).status is JobStatus.RUNNING
    assert route_counts(committed, user.id) == (0, 0, 0)  # the dead attempt stored nothing
    _age(committed, job_id)
    assert requeue_lost_jobs()["requeued"] == [job_id]
    run_worker()  # another worker (here, in this process) takes the job up
    committed.expire_all()
    job = committed.get(BackgroundJob, job_id)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2), job.error
    assert route_counts(committed, user.id) == (1, len(visits), len(visits))
    assert audits(committed, "routes.plan") == 1


def _outcome(visit_id: int) -> dict:
    return {"outcome": "met_debtor", "recorded_at": utcnow().isoformat(), "lat": CENTRE[0], "lon": CENTRE[1]}


def storm(app, headers, requests, *, during=None):
    """POST (visit_id, body, key) requests all at once from threads; `during` runs alongside."""
    def post(visit_id, body, key):
        def send(client):
            response = client.post(f"/api/v1/visits/{visit_id}/outcome", json=body,
                                   headers={**headers, "Idempotency-Key": key})
            return response.status_code, response.headers.get("Retry-After"), response.get_json()
        return send

    return at_once(app, [post(*r) for r in requests], alongside=during, join_s=60)


def test_50_concurrent_identical_outcome_submits_store_one_row(app, committed):
    _, headers, [visit_id] = seed_collector(committed, visits=1, status=VisitStatus.ASSIGNED,
                                            zone=daytime_zone(14))
    key, body = new_key(), _outcome(visit_id)
    results = storm(app, headers, [(visit_id, body, key)] * 50)
    assert Counter(status for status, *_ in results) == {201: 1, 200: 49}
    assert len({str(sorted(b.items())) for *_, b in results}) == 1
    assert committed.scalar(sa.select(sa.func.count()).select_from(VisitOutcome)) == 1
    assert committed.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 1
    assert committed.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 1


def terminate_backends(database: str, seconds: float) -> int:
    """Terminate every server process of `database` (as a failover or an admin would), again and again."""
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    killed, until = 0, time.monotonic() + seconds
    with engine.connect() as connection:
        while time.monotonic() < until:
            killed += connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database}).scalar()
            time.sleep(0.01)
    engine.dispose()
    return killed


def outcome_rows(session, keys: dict[int, str]) -> dict[int, tuple[int, int, int, str]]:
    """Per visit: (outcomes, contact attempts, idempotency records, status): all or nothing."""
    session.registry().invalidate()  # this session's own connection may be one the fault terminated
    rows = {}
    for visit_id, key in keys.items():
        outcomes = session.scalar(sa.select(sa.func.count()).where(VisitOutcome.visit_id == visit_id))
        attempts = session.scalar(sa.select(sa.func.count()).where(ContactAttempt.visit_id == visit_id))
        records = session.scalar(sa.select(sa.func.count()).where(IdempotencyRecord.key == key))
        status = session.scalar(sa.text("SELECT status FROM visits WHERE id = :id"), {"id": visit_id})
        rows[visit_id] = (outcomes, attempts, records, str(status))
    return rows


def test_terminated_database_connections_give_503_then_recover_with_nothing_half_written(app, committed):
    _, headers, visits = seed_collector(committed, visits=30, status=VisitStatus.ASSIGNED, zone=daytime_zone(14))
    database = db.engine.url.database
    keys = {visit_id: new_key() for visit_id in visits}
    bodies = {visit_id: _outcome(visit_id) for visit_id in visits}
    for _round in range(5):  # until the fault met requests in flight (it nearly always does at once)
        results = storm(app, headers, [(v, bodies[v], keys[v]) for v in visits],
                        during=lambda: terminate_backends(database, 1.0))
        if any(status == 503 for status, *_ in results):
            break
    statuses = Counter(status for status, *_ in results)
    assert set(statuses) <= {200, 201, 503} and statuses[503] > 0, statuses
    assert all(retry == "2" for status, retry, _ in results if status == 503)
    # Nothing half-written: each visit has its outcome, its contact attempt and its new status, or none.
    for visit_id, row in outcome_rows(committed, keys).items():
        assert row in ((0, 0, 0, "assigned"), (1, 1, 1, "done")), (visit_id, row)
    # Recovery by itself: the same requests again (the phone retries) all succeed, each stored once.
    again = storm(app, headers, [(v, bodies[v], keys[v]) for v in visits])
    assert {status for status, *_ in again} <= {200, 201}
    assert set(outcome_rows(committed, keys).values()) == {(1, 1, 1, "done")}
