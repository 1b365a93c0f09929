"""Fuzz the whole API for 500s: schemathesis over the app's own OpenAPI document, once per role,
then hand-crafted bad input schemathesis does not generate.

Builds a throwaway database (CREATE DATABASE + migrations to heads), seeds the demo data plus one
of each record a path can name (route, alert, lodging, tracing request and candidates, an assigned
and started visit), issues a bearer token per role, then runs in-process through the WSGI app:

1. schemathesis on every operation x role the operation allows: the coverage phase (boundary and
   negative values) and the fuzzing phase (positive and negative data, half the path and body ids
   swapped for real ones so handlers run past the lookups). Roles the operation refuses get a few
   requests (they must answer 403, not 500). Checks: not_a_server_error, status_code_conformance,
   content_type_conformance, response_schema_conformance.
2. hand-crafted probes on every operation x allowed role: malformed JSON, JSON nested past the
   parser's depth, wrong content types, a JSON list / scalar where an object goes, non-UTF-8 bytes,
   an empty body, a 1 GB (and a 64 MB) Content-Length claim; every field of a valid body replaced
   by huge numbers, NaN, Infinity, strings, NUL bytes, 100k-char strings, impossible dates, lat 91 /
   lon 181; bad query values; unknown and out-of-range ids in every path; empty and garbage
   multipart uploads; extreme portfolio policy overrides followed by the endpoints that read them.

A "500" is any 5xx answer, or an event answered with status 500 inside a POST /sync result.
Prints what it tried (operations x roles, requests per phase, status counts), every 500 with the
input and traceback, and the schema-conformance findings. Drops the database at the end.
Exit status 1 when any 500 was seen.

Usage: python bench/fuzz_api.py [--examples 40] [--coverage-cap 400] [--roles admin,collector]
                                [--only REGEX] [--skip-schemathesis] [--skip-probes] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import time
import traceback
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
RUN_ID = uuid.uuid4().hex[:8]
PREFIX = "/api/v1"
ROLES = ("admin", "dispatcher", "supervisor", "tracer", "collector")
ROLE_USERS = {"admin": "admin", "dispatcher": "dispatcher", "supervisor": "supervisor", "tracer": "tracer",
              "collector": "collector01"}
FORBIDDEN_ROLE_EXAMPLES = 3
CENTRE = (30.6571, 104.0658)


# ---------------------------------------------------------------------------------------------
# Recording

@dataclass
class Finding:
    kind: str          # "500" or a schemathesis check name
    phase: str
    role: str
    label: str
    status: int | None
    detail: str
    request: str
    tb: str = ""
    count: int = 1


@dataclass
class Recorder:
    requests: Counter = field(default_factory=Counter)       # phase -> n
    statuses: Counter = field(default_factory=Counter)       # status -> n
    pairs: set = field(default_factory=set)                  # (label, role) exercised
    per_pair: Counter = field(default_factory=Counter)       # (label, role, status) -> n
    findings: dict = field(default_factory=dict)             # key -> Finding
    notes: list = field(default_factory=list)

    def sent(self, phase: str, role: str, label: str, status: int) -> None:
        self.requests[phase] += 1
        self.statuses[status] += 1
        self.pairs.add((label, role))
        self.per_pair[(label, role, status)] += 1

    def find(self, finding: Finding, key: tuple) -> None:
        if key in self.findings:
            self.findings[key].count += 1
        else:
            self.findings[key] = finding

    def server_errors(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.kind == "500"]


class TracebackTrap(logging.Handler):
    """Keeps the tracebacks the app logs (its 500 handler and /sync log them) for the report."""

    def __init__(self):
        # Level 0, filtering in emit: Flask adds its own stderr handler when no handler takes ERROR.
        super().__init__(logging.NOTSET)
        self.caught: list[str] = []

    def emit(self, record):
        if record.levelno < logging.ERROR:
            return
        if record.exc_info:
            self.caught.append("".join(traceback.format_exception(*record.exc_info)))
        else:
            self.caught.append(record.getMessage())

    def take(self) -> str:
        text, self.caught = "\n".join(self.caught), []
        return text


def short_tb(text: str) -> str:
    """Our own frames (file, line, code) and the exception line: enough to find the bug."""
    rows = text.strip().splitlines()
    if not rows:
        return ""
    keep = []
    for i, row in enumerate(rows):
        if row.strip().startswith('File "') and str(REPO) in row and "/.venv/" not in row:
            keep.append(row.strip().replace(str(REPO) + "/", ""))
            if i + 1 < len(rows):
                keep.append("    " + rows[i + 1].strip())
    return "\n".join([*keep[-12:], exception_line(text)])


def exception_line(text: str) -> str:
    """The 'SomeError: message' line (SQLAlchemy appends SQL and a link after it)."""
    for row in reversed(text.strip().splitlines()):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit)\b", row):
            return row.strip()[:300]
    return text.strip().splitlines()[-1][:300] if text.strip() else ""


def clip(value, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# ---------------------------------------------------------------------------------------------
# Setup: database, app, demo data, one of everything, tokens

def create_database() -> tuple[str, str]:
    name = f"fieldtrace_fuzz_{RUN_ID}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def build_app(url: str):
    from flask_migrate import upgrade

    from backend import create_app
    from backend.auth.passwords import use_fast_hashing
    from backend.policy.defaults import DEFAULTS

    use_fast_hashing(True)
    # Keep synchronous route plans short: hundreds of them are sent.
    DEFAULTS["routing.sync_time_limit_s"] = 0.3
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": REDIS_URL, "QUEUE_PREFIX": f"fuzz{RUN_ID}:", "SECRET_KEY": f"fuzz-{RUN_ID}-{uuid.uuid4().hex}",
    })
    with app.app_context():
        upgrade(revision="heads")
    # Alembic's fileConfig disables the loggers that exist: re-enable ours, whose tracebacks we report.
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("backend") and isinstance(logger, logging.Logger):
            logger.disabled = False
    return app


def clear_redis(app) -> None:
    from backend.extensions import redis_conn

    with app.app_context():
        keys = list(redis_conn.client.scan_iter(match=f"*fuzz{RUN_ID}:*", count=1000))
        if keys:
            redis_conn.client.delete(*keys)


@dataclass
class World:
    """What the seed left: users and tokens per role, and real ids for every path parameter."""

    users: dict            # role -> user id
    tokens: dict           # role -> bearer token
    ids: dict              # param name -> [ids]
    own: dict              # (role, param) -> [ids] the role may see
    spare_collectors: list
    poison_portfolio: tuple  # (portfolio id, case id, contact id)


def seed(app) -> World:
    from backend.auth.access import issue_token
    from backend.auth.models import User
    from backend.demo.seed import seed_demo
    from backend.extensions import db

    with app.app_context():
        for line in seed_demo(db.session, n_cases=80, n_collectors=6):
            print("  seed:", line)
        db.session.commit()
        users = {role: db.session.scalar(sa.select(User.id).where(User.username == name))
                 for role, name in ROLE_USERS.items()}
        tokens = {role: issue_token(db.session.get(User, uid))[0] for role, uid in users.items()}
    client = app.test_client()
    auth = {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}
    today = date.today().isoformat()
    now = datetime.now(UTC)
    collector = users["collector"]
    with app.app_context():
        visit_ids = list(db.session.scalars(sa.text("SELECT id FROM visits ORDER BY id LIMIT 12")))
    for vid in visit_ids[:6]:
        client.post(f"{PREFIX}/visits/{vid}/assign", json={"collector_id": collector, "date": today},
                    headers=auth["dispatcher"])
    client.post(f"{PREFIX}/visits/{visit_ids[0]}/start", headers=auth["collector"])
    client.post(f"{PREFIX}/routes/plan", json={"date": today}, headers=auth["dispatcher"])
    point = {"lat": CENTRE[0], "lon": CENTRE[1]}
    client.post(f"{PREFIX}/safety/checkins", headers=auth["collector"],
                json={"kind": "shift_start", **point, "recorded_at": now.isoformat()})
    client.post(f"{PREFIX}/safety/sos", headers=auth["collector"],
                json={**point, "recorded_at": now.isoformat(), "note": "fuzz seed"})
    client.post(f"{PREFIX}/safety/lodgings", headers=auth["collector"],
                json={"name": "如家酒店", "address": "成都", **point, "check_in": now.isoformat()})
    with app.app_context():
        case_id = db.session.scalar(sa.text("SELECT id FROM cases ORDER BY id LIMIT 1"))
    contacts = ("name,number\n妈妈,13800138001\n").encode()
    client.post(f"{PREFIX}/tracing/requests", headers=auth["tracer"], content_type="multipart/form-data",
                data={"case_id": str(case_id), "legal_basis": "court_order",
                      "contacts": (_bytes_io(contacts), "contacts.csv")})
    with app.app_context():
        _seed_candidates(db.session)
        poison = _seed_poison_portfolio(db.session)
        db.session.commit()
        ids = _collect_ids(db.session)
        own = _collect_own(db.session, users)
        spare = list(db.session.scalars(sa.text(
            "SELECT id FROM users WHERE role = 'collector' AND username NOT IN ('collector01') ORDER BY id")))
    return World(users=users, tokens=tokens, ids=ids, own=own, spare_collectors=spare, poison_portfolio=poison)


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def _seed_candidates(session) -> None:
    from backend.tracing.models import TracingCandidate

    row = session.execute(sa.text("SELECT id, case_id FROM tracing_requests ORDER BY id LIMIT 1")).first()
    if row is None:
        return
    for rank, (number, kind) in enumerate((("+8613800138001", "kin"), ("+8613900139002", "associate"),
                                           ("+8613700137003", "new_number")), start=1):
        session.add(TracingCandidate(request_id=row.id, case_id=row.case_id, rank=rank, number_e164=number,
                                     kind=kind, score=0.5, evidence={"reasons": ["fuzz seed"]}, flags=[]))
    session.flush()


def _seed_poison_portfolio(session) -> tuple[int, int, int]:
    """A portfolio owning one case, whose overrides the probes set to extreme values."""
    from backend.policy.service import create_portfolio

    portfolio = create_portfolio(session, code=f"fuzz-{RUN_ID}", creditor="fuzz")
    case_id = session.scalar(sa.text("SELECT id FROM cases ORDER BY id DESC LIMIT 1"))
    session.execute(sa.text("UPDATE cases SET portfolio_id = :p WHERE id = :c"), {"p": portfolio.id, "c": case_id})
    contact_id = session.scalar(sa.text("SELECT id FROM case_contacts WHERE case_id = :c ORDER BY id LIMIT 1"),
                                {"c": case_id})
    return portfolio.id, case_id, contact_id


def _ids(session, sql: str) -> list[int]:
    return [int(v) for v in session.scalars(sa.text(sql)) if v is not None]


def _collect_ids(session) -> dict:
    return {
        "user_id": _ids(session, "SELECT id FROM users ORDER BY id LIMIT 20"),
        "collector_id": _ids(session, "SELECT id FROM users WHERE role = 'collector' ORDER BY id"),
        "portfolio_id": _ids(session, "SELECT id FROM portfolios ORDER BY id"),
        "case_id": _ids(session, "SELECT id FROM cases ORDER BY id LIMIT 30"),
        "address_id": _ids(session, "SELECT id FROM case_addresses ORDER BY id LIMIT 30"),
        "contact_id": _ids(session, "SELECT id FROM case_contacts ORDER BY id LIMIT 30"),
        "job_id": _ids(session, "SELECT id FROM background_jobs ORDER BY id"),
        "visit_id": _ids(session, "SELECT id FROM visits ORDER BY id LIMIT 30"),
        "route_id": _ids(session, "SELECT id FROM routes ORDER BY id"),
        "lodging_id": _ids(session, "SELECT id FROM lodgings ORDER BY id"),
        "alert_id": _ids(session, "SELECT id FROM safety_alerts ORDER BY id"),
        "request_id": _ids(session, "SELECT id FROM tracing_requests ORDER BY id"),
        "candidate_id": _ids(session, "SELECT id FROM tracing_candidates ORDER BY id"),
    }


def _collect_own(session, users: dict) -> dict:
    collector = users["collector"]
    return {
        ("collector", "visit_id"): _ids(session, f"SELECT id FROM visits WHERE collector_id = {collector} ORDER BY id"),
        ("collector", "route_id"): _ids(session, f"SELECT id FROM routes WHERE collector_id = {collector}"),
        ("collector", "lodging_id"): _ids(session, f"SELECT id FROM lodgings WHERE collector_id = {collector}"),
        ("collector", "case_id"): _ids(session, "SELECT case_id FROM visits WHERE collector_id = "
                                                f"{collector} ORDER BY id"),
        ("collector", "user_id"): [collector],
    }


def restore_staff(app, world: World) -> None:
    """Undo what PATCH /users may have done to the fuzzing accounts (deactivated, role changed)."""
    from backend.auth.access import issue_token
    from backend.auth.models import Role, User
    from backend.extensions import db

    with app.app_context():
        for role, uid in world.users.items():
            user = db.session.get(User, uid)
            if not user.active or user.role is not Role(role):
                user.active, user.role = True, Role(role)
            db.session.commit()
            world.tokens[role] = issue_token(user)[0]


# ---------------------------------------------------------------------------------------------
# Operations: the OpenAPI document, and which roles each operation allows

@dataclass
class Operation:
    method: str
    path: str          # OpenAPI template, e.g. /api/v1/cases/{case_id}
    spec: dict
    allowed: tuple     # role names

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def query_params(self) -> list[dict]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == "query"]

    def body_media(self) -> list[str]:
        return list((self.spec.get("requestBody") or {}).get("content", {}))


def allowed_roles(app) -> dict:
    """(METHOD, openapi path) -> role names, read from @roles_required on each view method."""
    result = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        cls = getattr(view, "view_class", None)
        if cls is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            func = getattr(cls, method.lower(), None)
            roles = getattr(func, "allowed_roles", ())
            result[(method, path)] = ROLES if roles == "public" else tuple(r.value for r in roles)
    return result


def load_operations(app) -> list[Operation]:
    doc = app.test_client().get(f"{PREFIX}/openapi.json").get_json()
    roles = allowed_roles(app)
    ops = []
    for path, item in doc["paths"].items():
        for method, spec in item.items():
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                ops.append(Operation(method.upper(), path, spec, roles.get((method.upper(), path), ROLES)))
    return ops


# ---------------------------------------------------------------------------------------------
# Sending, with 500 detection (including 500s inside /sync results)

class Sender:
    only: re.Pattern | None = None

    def __init__(self, app, world: World, recorder: Recorder, trap: TracebackTrap, rng: random.Random):
        self.app, self.world, self.rec, self.trap, self.rng = app, world, recorder, trap, rng
        self.client = app.test_client()

    def headers(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.world.tokens[role]}"}

    def real_id(self, role: str, param: str):
        pool = self.world.own.get((role, param)) or self.world.ids.get(param) or [1]
        return self.rng.choice(pool)

    def after(self, phase: str, role: str, op: Operation, status: int, body_text: str, request_repr: str) -> None:
        self.rec.sent(phase, role, op.label, status)
        tb = self.trap.take()
        if status == 503 and op.path.endswith("/health"):
            status = 200  # unhealthy is a legitimate answer there (no worker runs the sweeps here)
        if status >= 500:
            key = ("500", op.label, _tb_key(tb) or status)
            self.rec.find(Finding("500", phase, role, op.label, status, clip(body_text, 200), request_repr,
                                  short_tb(tb)), key)
        elif op.path.endswith("/sync") and status == 200:
            try:
                results = json.loads(body_text).get("results", [])
            except (ValueError, AttributeError):
                results = []
            for result in results:
                if isinstance(result, dict) and result.get("status", 0) >= 500:
                    key = ("500", op.label + " (event)", _tb_key(tb) or 500)
                    self.rec.find(Finding("500", phase, role, op.label + " (event in results)", 500,
                                          clip(result, 200), request_repr, short_tb(tb)), key)
        if op.method == "PATCH" and "/users/" in op.path:
            restore_staff(self.app, self.world)

    def raw(self, phase: str, role: str, op: Operation, path: str, *, headers: dict | None = None,
            **kwargs) -> int:
        """Send one hand-made request and record it; return the status."""
        all_headers = {**self.headers(role), **(headers or {})}
        request_repr = f"{op.method} {path} headers={clip({k: v for k, v in (headers or {}).items()}, 120)} " \
                       f"{clip(_describe_kwargs(kwargs), 400)}"
        try:
            response = self.client.open(path, method=op.method, headers=all_headers, **kwargs)
            status, text = response.status_code, response.get_data(as_text=True)
        except Exception as exc:  # an exception escaping the app is a 500 to a real client
            status, text = 599, f"{type(exc).__name__}: {exc}"
            self.trap.caught.append(traceback.format_exc())
        self.after(phase, role, op, status, text, request_repr)
        return status


def _tb_key(tb: str) -> str:
    """The innermost frame in our code plus the exception line: one finding per distinct bug."""
    rows = [r.strip() for r in tb.strip().splitlines() if r.strip()]
    if not rows:
        return ""
    frames = [r for r in rows if r.startswith('File "') and str(REPO / "backend") in r]
    return (frames[-1] if frames else "") + " | " + re.sub(r"\d+", "N", exception_line(tb))[:80]


def _cause(short: str) -> str:
    rows = short.splitlines()
    frames = [r for r in rows if r.startswith("File ")]
    exc = rows[-1] if rows else "?"
    exc = re.sub(r"'[^']*'|\[SQL.*", "'…'", exc)[:110]
    return f"{frames[-1] if frames else '(no frame of ours)'} | {exc}"


def _describe_kwargs(kwargs: dict) -> str:
    parts = []
    for key in ("query_string", "json", "data", "content_type", "environ_overrides"):
        if key in kwargs:
            value = kwargs[key]
            if isinstance(value, dict) and key == "data":
                value = {k: (f"<file {v[1]!r} {clip(v[0].getvalue(), 80)}>" if isinstance(v, tuple) else v)
                         for k, v in value.items()}
            parts.append(f"{key}={clip(value, 300)}")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Phase 1: schemathesis

def run_schemathesis(app, sender: Sender, ops: list[Operation], roles: list[str], examples: int,
                     coverage_cap: int, seed_value: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.generation import GenerationMode
    from schemathesis.generation.coverage import GenerationSession
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.generation.overrides import Override
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app)
    by_label = {op.label: op for op in ops}
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    session = GenerationSession()
    for result in schema.get_all_operations():
        try:
            operation = result.ok()
        except Exception as exc:  # an operation schemathesis cannot read is itself worth reporting
            sender.rec.notes.append(f"schemathesis could not load an operation: {exc}")
            continue
        op = by_label.get(operation.label)
        if op is None or (sender.only and not sender.only.search(op.label)):
            continue
        for role in roles:
            allowed = role in op.allowed
            phase = "schemathesis" if allowed else "schemathesis-forbidden"

            def run_case(case, role=role, op=op, phase=phase, allowed=allowed):
                if allowed:
                    _use_real_ids(case, role, sender)
                headers = sender.headers(role)
                try:
                    response = case.call(headers=headers)
                except Exception as exc:
                    sender.trap.caught.append(traceback.format_exc())
                    sender.after(phase, role, op, 599, f"{type(exc).__name__}: {exc}", _case_repr(case))
                    return
                sender.after(phase, role, op, response.status_code, response.text, _case_repr(case))
                if response.status_code >= 500:
                    return  # recorded with its traceback above
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        _record_failure(sender, failure, phase, role, op, response.status_code, case)
                except Failure as failure:
                    _record_failure(sender, failure, phase, role, op, response.status_code, case)

            started = time.monotonic()
            if allowed:
                generation = schema.config.generation_for(operation=operation, phase="coverage")
                generator = CoverageGenerator(operation=operation, generation_modes=modes,
                                              generation_config=generation, auth_storage=None,
                                              override=Override(), feedback=FeedbackSources(), session=session)
                try:
                    for n, case in enumerate(generator):
                        if n >= coverage_cap:
                            break
                        run_case(case)
                except Exception as exc:
                    sender.rec.notes.append(f"coverage phase {op.label} as {role}: {type(exc).__name__}: {exc}")
            strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])

            @seed(seed_value)
            @settings(max_examples=examples if allowed else FORBIDDEN_ROLE_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate], derandomize=False)
            @given(case=strategy)
            def fuzz(case):
                run_case(case)

            try:
                fuzz()
            except Exception as exc:
                sender.rec.notes.append(f"fuzzing {op.label} as {role}: {type(exc).__name__}: {clip(str(exc), 200)}")
            if allowed:
                print(f"  {op.label:<70} {role:<11} {time.monotonic() - started:5.1f}s", flush=True)


def _use_real_ids(case, role: str, sender: Sender) -> None:
    """Half the time, name real records so the handler runs past its lookups."""
    rng = sender.rng
    if case.path_parameters and rng.random() < 0.5:
        for name in list(case.path_parameters):
            if name in sender.world.ids:
                case.path_parameters[name] = sender.real_id(role, name)
    body = case.body
    if isinstance(body, dict) and rng.random() < 0.5:
        multipart = "multipart" in (case.media_type or "")
        for name in ("case_id", "visit_id", "collector_id", "address_id", "portfolio_id"):
            if name in body and name in sender.world.ids:
                value = sender.real_id(role, name)
                body[name] = str(value) if multipart else value
        if "collector_ids" in body and isinstance(body["collector_ids"], list):
            body["collector_ids"] = sender.world.ids["collector_id"][:3]
        if "visit_ids" in body and isinstance(body["visit_ids"], list):
            body["visit_ids"] = sender.world.ids["visit_id"][:8]


def _case_repr(case) -> str:
    return clip(f"{case.method} {case.formatted_path} query={case.query} body={case.body!r} "
                f"media={case.media_type}", 600)


def _record_failure(sender: Sender, failure, phase: str, role: str, op: Operation, status: int, case) -> None:
    name = type(failure).__name__
    title = getattr(failure, "title", "") or name
    message = getattr(failure, "message", "") or str(failure)
    key = (name, op.label, status, clip(re.sub(r"\d+", "N", title), 80))
    sender.rec.find(Finding(name, phase, role, op.label, status, clip(f"{title}: {message}", 500), _case_repr(case)),
                    key)


# ---------------------------------------------------------------------------------------------
# Phase 2: hand-crafted probes

NUMBER_MUTANTS = [10**30, -10**30, 2**31, 2**63, -1, 0, 1e308, -1e308, 1.5, float("nan"), float("inf"),
                  float("-inf"), "12abc", "1e999", "NaN", "", True, None, [], {}]
STRING_MUTANTS = ["", " ", "\x00", "a\x00b", "x" * 100_000, "𝕏😀", "\ud800", 12345, 1e308, float("nan"), True,
                  None, [], {}, ["x"], "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                  "2026-02-30", "10000-01-01", "-1", "99999999999999999999"]
LAT_MUTANTS = [91, -91, 90.0000001, 1e308, float("nan"), float("inf"), "91", "north", None]
LON_MUTANTS = [181, -181, 180.0000001, -1e308, float("nan"), float("-inf"), "181", None]
DATE_MUTANTS = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31", "0001-01-01",
                "2026-02-30", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "2026-01-01T00:00:00",
                "yesterday", 1700000000, 1e308, "", None, "\x00"]
QUERY_MUTANTS = ["NaN", "nan", "Infinity", "-Infinity", "1e400", "99999999999999999999999", str(2**63), "-1", "0",
                 "abc", "", "\x00", "x" * 5000, "2026-13-45", "9999-12-31", "0001-01-01",
                 "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "true", "[]", "1,2,3",
                 "nan,nan,nan,nan", "-181,-91,181,91", "1e999,0,1,1", "0,0,0,0", "1,2,3,4,5"]
PATH_ID_MUTANTS = ["0", "999999999", str(2**31), str(2**63), str(10**30), "-1", "abc", "1.5", "%00", "１２"]
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def base_bodies(world: World, role: str) -> dict:
    """A valid body per operation, so each mutation is the only thing wrong."""
    now = datetime.now(UTC)
    today = date.today()
    case_id = (world.own.get((role, "case_id")) or world.ids["case_id"])[0]
    address_id = world.ids["address_id"][0]
    visit_id = (world.own.get((role, "visit_id")) or world.ids["visit_id"])[0]
    point = {"lat": CENTRE[0], "lon": CENTRE[1]}
    outcome = {"outcome": "promise_to_pay", "recorded_at": _iso(now), **point, "accuracy_m": 12.5, "notes": "fuzz",
               "reason": None, "promise": {"amount": "100.00", "due_date": (today + timedelta(days=3)).isoformat()},
               "payment": None, "new_phones": [{"number": "13900139000", "owner": "debtor", "relationship": "self"}],
               "hazards": [{"kind": "dog", "note": "fuzz"}]}
    attempt = {"party": "debtor", "channel": "call", "started_at": _iso(now - timedelta(minutes=5)),
               "result": "no_answer", "notes": "", "late_entry": True, "asked_not_to_be_contacted": False,
               "promise": None}
    case = {"external_ref": f"FUZZ-{RUN_ID}", "portfolio": None, "debtor_name": "张三", "amount_due": "1234.50",
            "currency": "CNY", "days_past_due": 30, "timezone": "Asia/Shanghai",
            "addresses": [{"kind": "home", "text": "成都市", **point}], "phones": [{"number": "13800138000",
                                                                                "kind": "mobile"}],
            "contacts": [{"name": "李四", "relationship": "friend", "phone": "13800138002", "is_guarantor": False}]}
    return {
        "POST /api/v1/auth/token": {"username": "admin", "password": "fieldtrace-demo"},
        "POST /api/v1/users": {"username": f"fz{uuid.uuid4().hex[:6]}", "password": "long-password-for-fuzz", "role": "collector",
                               "name": "外访员", "phone": "13800138000", "timezone": "Asia/Shanghai",
                               "home": dict(point), "shift_start": "08:30", "shift_end": "18:00",
                               "max_visits_per_day": 10, "skills": ["car"], "team_size": 1},
        "PATCH /api/v1/users/{user_id}": {"name": "外访员", "home": dict(point), "max_visits_per_day": 10,
                                           "timezone": "Asia/Shanghai", "shift_start": "08:30"},
        "POST /api/v1/portfolios": {"code": f"fz{uuid.uuid4().hex[:6]}", "creditor": "银行", "profile": "cn_default",
                                    "overrides": {"visits.due_days": 3}},
        "PATCH /api/v1/portfolios/{portfolio_id}": {"creditor": "银行", "overrides": {"visits.due_days": 3}},
        "POST /api/v1/cases/import": [case],
        "POST /api/v1/visits": {"case_id": case_id, "address_id": address_id, "kind": "confirm", "reason": "fuzz",
                                "priority": 3, "window_start": _iso(now + timedelta(hours=1)),
                                "window_end": _iso(now + timedelta(hours=5)), "required_skills": ["car"]},
        "POST /api/v1/visits/{visit_id}/assign": {"collector_id": world.users["collector"], "date": today.isoformat()},
        "POST /api/v1/visits/{visit_id}/cancel": {"reason": "fuzz"},
        "POST /api/v1/visits/{visit_id}/outcome": outcome,
        "POST /api/v1/sync": {"events": [
            {"type": "outcome", "idempotency_key": str(uuid.uuid4()), "visit_id": visit_id, **outcome},
            {"type": "checkin", "idempotency_key": str(uuid.uuid4()), "kind": "ok", **point, "recorded_at": _iso(now)},
            {"type": "contact_attempt", "idempotency_key": str(uuid.uuid4()), "case_id": case_id, **attempt}]},
        "POST /api/v1/routes/plan": {"date": today.isoformat(), "collector_ids": world.ids["collector_id"][:2],
                                     "visit_ids": world.ids["visit_id"][:6]},
        "POST /api/v1/safety/checkins": {"kind": "arrived", **point, "recorded_at": _iso(now), "visit_id": visit_id,
                                         "next_checkin_by": _iso(now + timedelta(hours=1))},
        "POST /api/v1/safety/sos": {**point, "recorded_at": _iso(now), "note": "fuzz", "duress": False},
        "POST /api/v1/safety/lodgings": {"kind": "lodging", "name": "如家", "address": "成都", **point,
                                         "check_in": _iso(now), "check_out": _iso(now + timedelta(days=1))},
        "POST /api/v1/safety/alerts/{alert_id}/resolve": {"reason": "fuzz"},
        "POST /api/v1/cases/{case_id}/contact-attempts": attempt,
        "POST /api/v1/cases/{case_id}/contacts/{contact_id}/do-not-contact": {"reason": "fuzz"},
        "DELETE /api/v1/cases/{case_id}/contacts/{contact_id}/do-not-contact": {"reason": "fuzz"},
        "POST /api/v1/cases/{case_id}/debtor/do-not-contact": {"reason": "fuzz"},
        "DELETE /api/v1/cases/{case_id}/debtor/do-not-contact": {"reason": "fuzz"},
        "POST /api/v1/cases/{case_id}/contacts/{contact_id}/volunteered-to-pay": {"notes": "fuzz"},
        "POST /api/v1/cases/{case_id}/promises": {"amount": "100.00", "due_date": (today + timedelta(days=5)).isoformat(),
                                                  "source": "manual", "party": "debtor", "notes": ""},
        "POST /api/v1/cases/{case_id}/payments": {"amount": "50.00", "paid_at": _iso(now), "receipt_no": "R-1",
                                                  "source": "manual"},
        "POST /api/v1/tracing/candidates/{candidate_id}/confirm": {"name": "妈妈", "relationship": "parent", "note": "x"},
        "POST /api/v1/tracing/candidates/{candidate_id}/reject": {"note": "x"},
    }


def leaves(value, prefix=()):
    """Yield (path, value) for every leaf of a JSON document (first element of each list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from leaves(value[0], (*prefix, 0))
        yield (prefix, value)
    else:
        yield (prefix, value)


def replaced(doc, path, new):
    doc = json.loads(json.dumps(doc))
    if not path:
        return new
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return doc


def mutants_for(path, value) -> list:
    name = str(path[-1]) if path else ""
    if name == "lat":
        return LAT_MUTANTS
    if name == "lon":
        return LON_MUTANTS
    if name.endswith("_at") or name in ("date", "due_date", "check_in", "check_out", "window_start", "window_end",
                                        "next_checkin_by"):
        return DATE_MUTANTS
    if isinstance(value, bool):
        return ["true", 1, None, "\x00"]
    if isinstance(value, int | float) or name in ("amount", "amount_due", "accuracy_m", "party"):
        return NUMBER_MUTANTS
    return STRING_MUTANTS


def dumps(doc) -> bytes:
    """JSON with NaN/Infinity written as the bare tokens some clients send."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def fill_path(op: Operation, role: str, sender: Sender, world: World, overrides: dict | None = None) -> str:
    path = op.path
    for name in op.path_params():
        if overrides and name in overrides:
            value = overrides[name]
        elif op.method == "PATCH" and name == "user_id":
            value = world.spare_collectors[0]
        else:
            value = sender.real_id(role, name)
        path = path.replace("{" + name + "}", str(value))
    return path


def run_probes(sender: Sender, ops: list[Operation], roles: list[str]) -> None:
    world = sender.world
    for op in ops:
        for role in roles:
            if role not in op.allowed:
                continue
            started = time.monotonic()
            bodies = base_bodies(world, role)
            base = bodies.get(op.label)
            probe_path_ids(sender, op, role)
            probe_query(sender, op, role)
            takes_body = op.method in ("POST", "PATCH", "PUT", "DELETE") and (
                op.body_media() or base is not None)
            if takes_body:
                probe_body_shapes(sender, op, role, base)
            if base is not None:
                probe_fields(sender, op, role, base)
            if any("multipart" in m for m in op.body_media()) or op.path.endswith("/cases/import"):
                probe_uploads(sender, op, role)
            print(f"  {op.label:<70} {role:<11} {time.monotonic() - started:5.1f}s", flush=True)
    probe_headers(sender, ops)
    probe_policy_overrides(sender, ops)


def _extra_headers(op: Operation) -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())} if op.path.endswith("/outcome") else {}


def probe_path_ids(sender: Sender, op: Operation, role: str) -> None:
    params = op.path_params()
    for name in params:
        for bad in PATH_ID_MUTANTS:
            path = fill_path(op, role, sender, sender.world, {name: bad})
            body = bodies_or_none(sender, op, role)
            kwargs = {"data": dumps(body), "content_type": "application/json"} if body is not None else {}
            sender.raw("probe:path-id", role, op, path, headers=_extra_headers(op), **kwargs)
    if len(params) == 2:  # a real id of the wrong parent: a contact of another case
        path = fill_path(op, role, sender, sender.world, {params[0]: sender.world.ids[params[0]][-1]})
        sender.raw("probe:path-id", role, op, path, headers=_extra_headers(op))


def bodies_or_none(sender: Sender, op: Operation, role: str):
    return base_bodies(sender.world, role).get(op.label)


def probe_query(sender: Sender, op: Operation, role: str) -> None:
    params = op.query_params()
    if not params:
        return
    path = fill_path(op, role, sender, sender.world)
    for param in params:
        for bad in QUERY_MUTANTS:
            sender.raw("probe:query", role, op, path, query_string={param["name"]: bad})
    # Everything at once, and repeated keys.
    sender.raw("probe:query", role, op, path, query_string="&".join(f"{p['name']}=1e999" for p in params))
    sender.raw("probe:query", role, op, path, query_string="&".join(f"{p['name']}=1&{p['name']}=2" for p in params))


def probe_body_shapes(sender: Sender, op: Operation, role: str, base) -> None:
    path = fill_path(op, role, sender, sender.world)
    valid = dumps(base if base is not None else {})
    headers = _extra_headers(op)
    json_type = "application/json"
    shapes = [
        ("malformed JSON", b'{"a": ', json_type),
        ("truncated JSON", valid[: len(valid) // 2], json_type),
        ("JSON nested 100k deep", DEEP_JSON, json_type),
        ("JSON nested just within the parser", b"[" * 990 + b"]" * 990, json_type),
        ("NUL nested 900 deep", b"[" * 900 + b'"\\u0000"' + b"]" * 900, json_type),
        ("JSON list for object", dumps([base] if base is not None else [{}]), json_type),
        ("JSON list of scalars", b"[1, 2, 3]", json_type),
        ("JSON string", b'"hello"', json_type),
        ("JSON number", b"42", json_type),
        ("JSON null", b"null", json_type),
        ("JSON NaN", b"NaN", json_type),
        ("non-UTF-8 bytes", b"\xff\xfe\xfa{" + valid[1:], json_type),
        ("latin-1 text", '{"reason": "caf\xe9"}'.encode("latin-1"), json_type),
        ("UTF-16", json.dumps(base if base is not None else {}).encode("utf-16"), json_type),
        ("empty body", b"", json_type),
        ("whitespace body", b"   \n", json_type),
        ("text/plain", valid, "text/plain"),
        ("XML", b"<visit><case_id>1</case_id></visit>", "application/xml"),
        ("form-urlencoded", b"case_id=1&kind=confirm&reason=x", "application/x-www-form-urlencoded"),
        ("no content type", valid, None),
        ("json with charset latin-1", valid, "application/json; charset=latin-1"),
        ("json with bogus charset", valid, "application/json; charset=klingon"),
        ("multipart without boundary", valid, "multipart/form-data"),
        ("duplicate keys", b'{"a": 1, "a": {"b": 2}}', json_type),
        ("unknown key", dumps({**base, "zzz_unknown": 1}) if isinstance(base, dict) else b'{"zzz_unknown": 1}',
         json_type),
    ]
    for _name, data, content_type in shapes:
        kwargs = {"data": data}
        if content_type:
            kwargs["content_type"] = content_type
        sender.raw("probe:body-shape", role, op, path, headers=headers, **kwargs)
    for claim in ("1000000000", "67108864", "-1", "abc"):
        sender.raw("probe:content-length", role, op, path, headers=_extra_headers(op), data=valid,
                   content_type=json_type, environ_overrides={"CONTENT_LENGTH": claim})


def probe_fields(sender: Sender, op: Operation, role: str, base) -> None:
    path = fill_path(op, role, sender, sender.world)
    for leaf_path, value in leaves(base):
        if not leaf_path:
            continue
        for bad in mutants_for(leaf_path, value):
            body = replaced(fresh_base(sender, op, role, base), leaf_path, bad)
            sender.raw("probe:field", role, op, path, headers=_extra_headers(op), data=dumps(body),
                       content_type="application/json")
        # The field missing altogether.
        body = fresh_base(sender, op, role, base)
        try:
            target = body
            for key in leaf_path[:-1]:
                target = target[key]
            del target[leaf_path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        sender.raw("probe:field", role, op, path, headers=_extra_headers(op), data=dumps(body),
                   content_type="application/json")


def fresh_base(sender: Sender, op: Operation, role: str, base):
    """The base body again, with fresh unique values (usernames, codes, keys) so duplicates do not mask."""
    fresh = base_bodies(sender.world, role).get(op.label, base)
    return json.loads(json.dumps(fresh))


def probe_uploads(sender: Sender, op: Operation, role: str) -> None:
    path = fill_path(op, role, sender, sender.world)
    case_id = str(sender.world.ids["case_id"][0])
    f = _bytes_io
    if op.path.endswith("/cases/import"):
        header = b"external_ref,portfolio,debtor_name,amount_due,currency,days_past_due,timezone,address_text,lat,lon,phone\n"
        uploads = [
            {}, {"file": (f(b""), "cases.csv")}, {"file": (f(b"\xff\xfe\x00\x01garbage"), "cases.csv")},
            {"file": (f(b"PK\x03\x04" + os.urandom(200)), "cases.xlsx")}, {"file": (f(header), "cases.csv")},
            {"file": (f(header + b"R1,,Name,1e999,CNY,5,Asia/Shanghai,addr,91,181,138\n"), "cases.csv")},
            {"file": (f(header + b"R2,,Name,NaN,CNY,-5,Mars/Olympus,addr,nan,inf,x\n"), "cases.csv")},
            {"file": (f(header + b"R3,,Name,100,CNY,99999999999999999999,UTC,addr,30,104,13800138000\n"),
                      "cases.csv")},
            {"file": (f(b"a,b\n1,2,3,4\n\"unterminated"), "cases.csv")},
            {"file": (f(header + b"R4,nosuch-portfolio,\x00,100,CNY,5,UTC,addr,30,104,13800138000\n"), "cases.csv")},
            {"other": (f(b"x"), "x.csv")},
            {"file": "not a file"},
        ]
    else:
        contacts = b"name,number\n\xe5\xa6\x88,13800138001\n"
        uploads = [
            {}, {"case_id": case_id, "legal_basis": "court_order"},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": (f(b""), "c.csv")},
            {"case_id": case_id, "legal_basis": "court_order", "calls": (f(b"\xff\xfe\xfd"), "calls.csv")},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": (f(b"PK\x03\x04" + os.urandom(100)),
                                                                            "c.zip")},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": (f(b"[1, 2, \"x\"]"), "c.json")},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": (f(b"{\"a\": 1}"), "c.json")},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": (f(b"[" * 50000), "c.json")},
            {"case_id": case_id, "legal_basis": "court_order", "calls": (f(
                b"number,direction,started_at,duration_s\n13800138001,in,9999-12-31 23:59:59,1e999\n"), "calls.csv")},
            {"case_id": "99999999999999999999", "legal_basis": "court_order", "contacts": (f(contacts), "c.csv")},
            {"case_id": "NaN", "legal_basis": "court_order", "contacts": (f(contacts), "c.csv")},
            {"case_id": case_id, "legal_basis": "\x00", "contacts": (f(contacts), "c.csv")},
            {"case_id": case_id, "legal_basis": "court_order", "legal_reference": "\x00",
             "contacts": (f(contacts + b"\x00,\x00\n"), "c.csv")},
            {"case_id": case_id, "legal_basis": "court_order", "contacts": "not a file"},
        ]
    for data in uploads:
        sender.raw("probe:upload", role, op, path, data=data, content_type="multipart/form-data")
    # A multipart body that is cut off, and one whose declared boundary never appears.
    sender.raw("probe:upload", role, op, path, data=b"--xyz\r\nContent-Disposition: form-data; name=\"file\"",
               content_type="multipart/form-data; boundary=xyz")
    sender.raw("probe:upload", role, op, path, data=b"hello", content_type="multipart/form-data; boundary=abc")


def probe_headers(sender: Sender, ops: list[Operation]) -> None:
    """Bad Authorization headers and Idempotency-Keys, on one operation of each kind."""
    me = next((op for op in ops if op.label == f"GET {PREFIX}/me"), None)
    for value in () if me is None else ("Bearer", "Bearer ", "Basic YWRtaW46eA==", "Bearer " + "a" * 20000, "Bearer \x00",
                  "Bearer x.y.z", "bearer " + sender.world.tokens["admin"] + "x", "Bearer\t" + "tok"):
        sender.raw("probe:header", "admin", me, me.path, headers={"Authorization": value})
    outcome = next((op for op in ops if op.path.endswith("/outcome")), None)
    if outcome is not None:
        path = fill_path(outcome, "collector", sender, sender.world)
        body = base_bodies(sender.world, "collector")[outcome.label]
        for key in ("", " ", "x" * 10000, "not-a-uuid", "\x00", "00000000-0000-0000-0000-000000000000"):
            sender.raw("probe:header", "collector", outcome, path, headers={"Idempotency-Key": key},
                       data=dumps(body), content_type="application/json")


def probe_policy_overrides(sender: Sender, ops: list[Operation]) -> None:
    """Set each policy key of one portfolio to an extreme value it accepts, then read that portfolio's case."""
    from backend.policy.defaults import DEFAULTS

    portfolio_id, case_id, contact_id = sender.world.poison_portfolio
    patch = next((op for op in ops if op.label == f"PATCH {PREFIX}/portfolios/{{portfolio_id}}"), None)
    if patch is None:
        return
    readers = [op for op in ops if "{case_id}" in op.path or op.path.endswith("/visits")
               or op.path.endswith("/contact-attempts")]
    extremes = [10**9, 10**15, 1e308, 0, 0.5, 1e-300]
    for key, default in DEFAULTS.items():
        if isinstance(default, bool):
            values = []
        elif isinstance(default, int | float):
            values = extremes
        elif isinstance(default, str):
            values = ["25:99", "", "\x00", "x" * 1000]
        elif isinstance(default, list):
            values = [[], ["nope"], [99, -1], [{}], [1e308], [10**9]]
        else:
            values = []
        for value in values:
            status = sender.raw("probe:policy", "admin", patch, patch.path.replace("{portfolio_id}", str(portfolio_id)),
                                json={"overrides": {key: value}})
            if status >= 400:
                continue
            for op in readers:
                # One role per reader, staff first (a collector sees only cases of their own visits).
                for role in sorted(op.allowed, key=("supervisor", "dispatcher", "admin", "tracer", "collector").index):
                    overrides = {"case_id": case_id, "contact_id": contact_id}
                    path = fill_path(op, role, sender, sender.world, overrides)
                    body = base_bodies(sender.world, role).get(op.label)
                    if isinstance(body, dict) and "case_id" in body:
                        body["case_id"] = case_id
                    kwargs = {"data": dumps(body), "content_type": "application/json"} if body is not None else {}
                    sender.raw(f"probe:policy {key}={clip(value, 30)}", role, op, path,
                               headers=_extra_headers(op), **kwargs)
                    break  # one role per reader is enough here
    sender.raw("probe:policy", "admin", patch, patch.path.replace("{portfolio_id}", str(portfolio_id)),
               json={"overrides": {}})


# ---------------------------------------------------------------------------------------------
# Report

def report(rec: Recorder, ops: list[Operation], roles: list[str], elapsed: float) -> None:
    allowed_pairs = sum(1 for op in ops for role in roles if role in op.allowed)
    print("\n=== fuzz_api summary ===")
    print(f"operations in the OpenAPI document: {len(ops)}; roles: {', '.join(roles)}")
    print(f"operation x role pairs exercised: {len(rec.pairs)} "
          f"({allowed_pairs} allowed pairs fuzzed in full, the rest checked for 403)")
    print(f"requests: {sum(rec.requests.values())} in {elapsed:.0f}s")
    phases = defaultdict(int)
    for phase, n in rec.requests.items():
        phases[phase.split(" ")[0]] += n
    for phase, n in sorted(phases.items()):
        print(f"  {phase:<26} {n:>8}")
    print("status codes: " + ", ".join(f"{s}: {n}" for s, n in sorted(rec.statuses.items())))
    # A pair answered only 401 would mean the fuzzing lost its token and tested nothing behind it.
    # (Many 401s are normal: the coverage phase also sends missing and invalid credentials.)
    totals, unauthorised = Counter(), Counter()
    for (label, role, status), n in rec.per_pair.items():
        totals[(label, role)] += n
        unauthorised[(label, role)] += n if status == 401 else 0
    lost = [pair for pair, n in totals.items() if unauthorised[pair] == n and not pair[0].endswith("/auth/token")]
    print(f"pairs answered only 401 (token lost?): {len(lost)}" + (f" {sorted(lost)[:10]}" if lost else ""))
    errors = rec.server_errors()
    print(f"\n500s: {len(errors)} distinct ({sum(f.count for f in errors)} requests)")
    for f in errors:
        print(f"\n--- 500 x{f.count} [{f.phase}] {f.label} as {f.role}\n  request: {f.request}\n"
              f"  response: {f.detail}\n  traceback:\n    " + f.tb.replace("\n", "\n    "))
    if errors:
        print("\n500s by cause (innermost frame of ours | exception):")
        causes = defaultdict(set)
        for f in errors:
            causes[_cause(f.tb)].add(f.label)
        for cause, labels in sorted(causes.items(), key=lambda item: -len(item[1])):
            print(f"  {cause}\n      {len(labels)} operation(s): {', '.join(sorted(labels))[:600]}")
    others = [f for f in rec.findings.values() if f.kind != "500"]
    print(f"\nschema conformance findings: {len(others)} distinct")
    for f in sorted(others, key=lambda f: (f.kind, f.label)):
        print(f"  - {f.kind} x{f.count} {f.label} ({f.status}) as {f.role}: {clip(f.detail, 300)}\n"
              f"      e.g. {clip(f.request, 300)}")
    if rec.notes:
        print(f"\nnotes ({len(rec.notes)}):")
        for note in rec.notes[:40]:
            print("  -", clip(note, 300))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40, help="hypothesis examples per operation x role")
    parser.add_argument("--coverage-cap", type=int, default=400, help="coverage-phase cases per operation x role")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--only", default=None, help="regex on 'METHOD /path'")
    parser.add_argument("--skip-schemathesis", action="store_true")
    parser.add_argument("--skip-probes", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    roles = [r for r in args.roles.split(",") if r]

    started = time.monotonic()
    name, url = create_database()
    app = None
    try:
        print(f"database {name}: migrating and seeding")
        app = build_app(url)
        trap = TracebackTrap()
        root = logging.getLogger()
        root.handlers = [trap]
        root.setLevel(logging.WARNING)
        world = seed(app)
        trap.take()
        rec = Recorder()
        sender = Sender(app, world, rec, trap, random.Random(args.seed))
        ops = load_operations(app)
        if args.only:
            sender.only = re.compile(args.only)
            ops = [op for op in ops if sender.only.search(op.label)]
        if not args.skip_schemathesis:
            print("phase 1: schemathesis")
            run_schemathesis(app, sender, ops, roles, args.examples, args.coverage_cap, args.seed)
        if not args.skip_probes:
            print("phase 2: hand-crafted probes")
            run_probes(sender, ops, roles)
        report(rec, ops, roles, time.monotonic() - started)
        return 1 if rec.server_errors() else 0
    finally:
        if app is not None:
            clear_redis(app)
            from backend.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
