"""Tracing fixtures: the engine's hand-built family scenario moved to the present, uploads and factories."""
from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from backend.auth.models import Role
from backend.auth.service import create_user as service_create_user
from backend.cases.models import Case, CasePhone
from backend.jobs.models import BackgroundJob, JobStatus
from backend.policy.service import ensure_default_portfolio
from backend.timeutil import utcnow
from backend.tracing.models import TracingCandidate, TracingRequest
from tests.tracing.test_engine import MOTHER, NOW, OLD, START, family

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Whole weeks, so weekday and evening patterns of the scenario survive the move.
SHIFT = timedelta(weeks=max(0, (utcnow().date() - NOW.date()).days // 7))
SILENT_NOW = datetime(2026, 3, 2, 21, 0) + SHIFT
BAD_CALLS = [  # one of each bad-row reason the job must count
    {"owner_number": "", "number": "abc", "direction": "out", "started_at": "2026-01-01 10:00:00", "duration_s": "5"},
    {"owner_number": "", "number": MOTHER, "direction": "sideways", "started_at": "2026-01-01 10:00:00",
     "duration_s": "5"},
    {"owner_number": "", "number": MOTHER, "direction": "out", "started_at": "yesterday", "duration_s": "5"},
    {"owner_number": "", "number": MOTHER, "direction": "out", "started_at": "2026-01-01 10:00:00", "duration_s": "-5"},
]


def e164(national: str) -> str:
    return "+86" + national


def scenario_rows(extra_calls: int = 0, seed: int = 11) -> tuple[list[dict], list[dict]]:
    """Return (contacts, calls) of the family scenario, moved so its last calls are a few days old."""
    records = family()
    calls = [{**c, "started_at": (datetime.strptime(c["started_at"], TIME_FORMAT) + SHIFT).strftime(TIME_FORMAT)}
             for c in records.calls]
    rng = random.Random(seed)
    strangers = [f"13{rng.randint(100_000_000, 999_999_999)}" for _ in range(2000)]
    span = int((SILENT_NOW - timedelta(days=30) - (START + SHIFT)).total_seconds())
    for i in range(extra_calls):  # the mother's everyday calls, all before the switch: bulk, no new signal
        when = START + SHIFT + timedelta(seconds=rng.randrange(span))
        calls.append({"owner_number": e164(MOTHER), "number": rng.choice(strangers),
                      "direction": "out" if i % 2 else "in", "started_at": when.strftime(TIME_FORMAT),
                      "duration_s": str(rng.randrange(600))})
    return records.contacts, calls


def as_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def as_json_lines(rows: list[dict]) -> bytes:
    return ("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n").encode()


@pytest.fixture(scope="session")
def family_files() -> tuple[bytes, bytes]:
    """The scenario as the CSV files a specialist uploads, with four bad call rows."""
    contacts, calls = scenario_rows()
    return as_csv(contacts), as_csv(calls + BAD_CALLS)


def form(case_id, contacts: bytes | None = None, calls: bytes | None = None, legal_basis="court_order", **more):
    """Return a multipart body for POST /tracing/requests."""
    data = {"case_id": str(case_id), **more}
    if legal_basis is not None:
        data["legal_basis"] = legal_basis
    if contacts is not None:
        data["contacts"] = (io.BytesIO(contacts), "contacts.csv")
    if calls is not None:
        data["calls"] = (io.BytesIO(calls), "calls.csv")
    return data


@pytest.fixture
def tracer(as_role):
    return as_role(Role.TRACER)


@pytest.fixture
def submit(client, tracer):
    """POST a tracing request as a tracer and return the response."""

    def post(case_id, contacts=None, calls=None, headers=None, **fields):
        return client.post("/api/v1/tracing/requests", data=form(case_id, contacts, calls, **fields),
                           headers=headers or tracer[1], content_type="multipart/form-data")

    return post


@pytest.fixture
def debtor_case(create_case):
    """A lost debtor whose known number is the scenario's old number."""

    def create(**fields):
        case = create_case(phones=(e164(OLD),), **fields)
        case.debtor_name = "张小明"
        return case

    return create


@pytest.fixture
def create_candidate(session):
    """Add a finished request with one candidate, for review tests that need no engine run."""

    def create(case, *, kind="kin", number="+8613900000002", relationship="parent", evidence=None,
               legal_basis="debtor_consent"):
        job = BackgroundJob(kind="tracing", queue="tracing", func="none", args={}, status=JobStatus.DONE,
                            progress=1.0, stats={}, attempts=1, enqueues=1, created_at=utcnow())
        session.add(job)
        session.flush()
        request = TracingRequest(case_id=case.id, job_id=job.id, legal_basis=legal_basis, files={}, stats={},
                                 candidate_count=1, traced_at=utcnow())
        session.add(request)
        session.flush()
        candidate = TracingCandidate(request_id=request.id, case_id=case.id, rank=1, number_e164=number, kind=kind,
                                     relationship=relationship, score=0.8, flags=[],
                                     evidence=evidence or {"saved_as": [{"book": "debtor", "name": "妈妈"}]})
        session.add(candidate)
        session.flush()
        return candidate

    return create


# For tests with real commits (`committed`), where the session-bound factories cannot be used.
def add_user(session, role: Role):
    n = f"{role.value}{time.monotonic_ns()}"
    return service_create_user(session, region="CN", username=n, password="correct-horse", name=n, role=role,
                               home={"lat": 30.6571, "lon": 104.0658})


def add_case(session, phones: tuple[str, ...] = ("+86" + OLD,)) -> Case:
    portfolio = ensure_default_portfolio(session)
    case = Case(external_ref=f"T-{time.monotonic_ns()}", portfolio_id=portfolio.id, debtor_name="张小明",
                amount_due=Decimal("5000.00"), currency="CNY", days_past_due=40, timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    for number in phones:
        session.add(CasePhone(case_id=case.id, number_e164=number, kind="mobile", source="import"))
    session.flush()
    return case


def worker_process(app, *args: str) -> subprocess.Popen:
    """Start `python -m worker` on this run's database and queues, in its own process group."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "QUEUE_PREFIX": app.config["QUEUE_PREFIX"]}
    return subprocess.Popen([sys.executable, "-m", "worker", *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_worker(process: subprocess.Popen) -> list[int]:
    """SIGKILL a worker and its work horse, as when the machine dies; return the horse pids.

    RQ puts each work horse in a process group of its own, so killing the worker's group misses it.
    """
    horses = _child_pids(process.pid)
    os.killpg(process.pid, signal.SIGKILL)
    for pid in horses:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    return horses


def _child_pids(parent: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent:
            children.append(int(entry))
    return children


def gone(pid: int) -> bool:
    """Tell whether a process has exited (a zombie counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
