"""100 phones posting visit outcomes to gunicorn at once, 10% of them replays of an earlier report.

Creates and migrates a throwaway database, seeds collectors with assigned visits, starts gunicorn
(wsgi:app) on it, then each simulated phone posts its outcomes over a keep-alive connection at its
share of the target rate (open loop: a slow answer does not slow the offered load). Prints
throughput, latency percentiles, status counts and the duplicate check (rows stored == distinct
keys; every replay answered 200 with the first body). Drops the database and stops gunicorn.

Usage: python bench/outcomes.py [--rate 200] [--per-phone 40] [--workers 2] [--threads 4]
       (--rate 0: as fast as the phones can go)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET = f"bench-{uuid.uuid4().hex}"
PHONES = 100
REPLAY_SHARE = 0.10
CENTRE = (30.6571, 104.0658)


def create_database() -> str:
    """Create an empty database for this run and return its URL."""
    name = f"fieldtrace_bench_{os.getpid()}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def seed(url: str, per_phone: int) -> list[dict]:
    """Migrate, then add PHONES collectors each with per_phone assigned visits; return the phones."""
    from flask_migrate import upgrade

    from backend import create_app
    from backend.auth.access import issue_token
    from backend.auth.models import Role
    from backend.auth.passwords import use_fast_hashing
    from backend.auth.service import create_user
    from backend.cases.models import AddressKind, Case, CaseAddress
    from backend.extensions import db
    from backend.geo import make_point
    from backend.policy.service import ensure_default_portfolio
    from backend.timeutil import utcnow
    from backend.visits.models import Visit, VisitKind, VisitStatus

    use_fast_hashing(True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET})
    rng = random.Random(7)
    with app.app_context():
        upgrade(revision="heads")
        session = db.session
        portfolio = ensure_default_portfolio(session)
        now, day = utcnow(), utcnow().date()
        phones = []
        for p in range(PHONES):
            user = create_user(session, username=f"phone{p}", password="bench-password", name=f"Phone {p}",
                               role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
            cases = [Case(external_ref=f"B-{p}-{k}", portfolio_id=portfolio.id, debtor_name=f"Debtor {p}-{k}",
                          amount_due=Decimal("5000.00"), currency="CNY", days_past_due=30, timezone="Asia/Shanghai")
                     for k in range(per_phone)]
            session.add_all(cases)
            session.flush()
            spots = [(CENTRE[0] + rng.uniform(-0.05, 0.05), CENTRE[1] + rng.uniform(-0.05, 0.05)) for _ in cases]
            addresses = [CaseAddress(case_id=c.id, kind=AddressKind.HOME, text=f"addr {c.external_ref}",
                                     location=make_point(*spot)) for c, spot in zip(cases, spots, strict=True)]
            session.add_all(addresses)
            session.flush()
            visits = [Visit(case_id=c.id, address_id=a.id, kind=VisitKind.CONFIRM, status=VisitStatus.ASSIGNED,
                            reason="", priority=3, due_by=now + timedelta(days=3), source="bench", outsourced=False,
                            requires_two=False, collector_id=user.id, scheduled_date=day, required_skills=[],
                            created_at=now, updated_at=now) for c, a in zip(cases, addresses, strict=True)]
            session.add_all(visits)
            session.flush()
            token, _ = issue_token(user)
            phones.append({"token": token, "visits": [(v.id, spot) for v, spot in zip(visits, spots, strict=True)]})
        session.commit()
    return phones


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    """Start gunicorn on wsgi:app against the bench database and wait until it answers."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET,
           "QUEUE_PREFIX": f"bench{os.getpid()}:"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), "-k", "gthread",
         "--keep-alive", "30", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=REPO, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    stop_gunicorn(process)
    raise RuntimeError("gunicorn did not come up")


def stop_gunicorn(process: subprocess.Popen) -> None:
    """Stop the gunicorn we started (its own process group: master and workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Phone(threading.Thread):
    """One collector's phone: posts its outcomes in turn, sometimes resending an earlier one."""

    def __init__(self, index: int, phone: dict, port: int, interval_s: float, start_at: float, rng: random.Random):
        super().__init__(daemon=True)
        self.index, self.phone, self.port = index, phone, port
        self.interval_s, self.start_at, self.rng = interval_s, start_at, rng
        self.samples: list[tuple[float, int]] = []
        self.sent: list[tuple[str, int, bytes, dict]] = []  # key, visit id, body, first answer
        self.replay_mismatches = 0

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.phone['token']}", "Content-Type": "application/json"}
        visits = list(self.phone["visits"])
        due = self.start_at + self.rng.uniform(0, self.interval_s or 0.01)
        while visits:
            if self.interval_s:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += self.interval_s
            if self.sent and self.rng.random() < REPLAY_SHARE:
                key, visit_id, body, first = self.rng.choice(self.sent)
                status, answer = self._post(connection, headers, visit_id, key, body)
                self.replay_mismatches += status != 200 or answer != first
                continue
            visit_id, (lat, lon) = visits.pop()
            key = str(uuid.uuid4())
            body = json.dumps({"outcome": self.rng.choice(("met_debtor", "not_home", "refused")),
                               "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                               "lat": lat + self.rng.uniform(-0.0005, 0.0005), "lon": lon,
                               "accuracy_m": self.rng.choice((8, 15, 40))}).encode()
            status, answer = self._post(connection, headers, visit_id, key, body)
            if status == 201:
                self.sent.append((key, visit_id, body, answer))
        connection.close()

    def _post(self, connection, headers, visit_id, key, body):
        started = time.perf_counter()
        connection.request("POST", f"/api/v1/visits/{visit_id}/outcome", body=body,
                           headers={**headers, "Idempotency-Key": key})
        response = connection.getresponse()
        payload = response.read()
        self.samples.append((time.perf_counter() - started, response.status))
        return response.status, json.loads(payload)


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def bench_cpu_s(port: int, dbname: str) -> float:
    """CPU seconds used by this benchmark: gunicorn, its database backends, and the phones."""
    tick, total = os.sysconf("SC_CLK_TCK"), sum(os.times()[:2])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (f"127.0.0.1:{port}" in cmd and "gunicorn" in cmd) or dbname in cmd:
            total += (int(stat[11]) + int(stat[12])) / tick
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(phones: list[dict], port: int, rate: float) -> tuple[list[Phone], float]:
    interval = PHONES / rate if rate else 0.0
    rng = random.Random(11)
    start_at = time.perf_counter() + 0.5
    threads = [Phone(i, p, port, interval, start_at, random.Random(rng.random())) for i, p in enumerate(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return threads, time.perf_counter() - start_at


def report(threads: list[Phone], wall_s: float, url: str, rate: float, workers: int, threads_per: int,
           cpu: tuple[float, float]) -> None:
    samples = [s for t in threads for s in t.samples]
    latencies = [latency * 1000 for latency, _ in samples]
    statuses: dict[int, int] = {}
    for _, status in samples:
        statuses[status] = statuses.get(status, 0) + 1
    keys = {key for t in threads for key, *_ in t.sent}
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.scalar(sa.text("SELECT count(*) FROM visit_outcomes"))
        distinct = connection.scalar(sa.text("SELECT count(DISTINCT idempotency_key) FROM visit_outcomes"))
        records = connection.scalar(sa.text("SELECT count(*) FROM idempotency_records"))
    engine.dispose()
    mismatches = sum(t.replay_mismatches for t in threads)
    replays = statuses.get(200, 0)
    print(f"gunicorn gthread: {workers} workers x {threads_per} threads | {PHONES} phones | "
          f"offered rate {'max' if not rate else f'{rate:.0f}/s'}")
    print(f"requests {len(samples)} in {wall_s:.1f} s -> {len(samples) / wall_s:.0f} req/s "
          f"({len(keys) / wall_s:.0f} new outcomes/s, {replays} replays = {100 * replays / len(samples):.1f} %)")
    print(f"latency ms: p50 {percentile(latencies, 0.50):.1f} | p90 {percentile(latencies, 0.90):.1f} | "
          f"p99 {percentile(latencies, 0.99):.1f} | max {max(latencies):.1f}")
    print(f"status counts: {dict(sorted(statuses.items()))}")
    machine, ours = cpu
    print(f"CPU: machine busy {100 * machine / wall_s / os.cpu_count():.0f} % of {os.cpu_count()} cores; "
          f"this benchmark {1000 * ours / len(samples):.1f} ms CPU per request (gunicorn + postgres + phones), "
          f"other processes {100 * max(0.0, machine - ours) / wall_s / os.cpu_count():.0f} %")
    ok = rows == distinct == records == len(keys) and mismatches == 0
    print(f"duplicates: rows stored {rows}, distinct keys stored {distinct}, idempotency records {records}, "
          f"distinct keys sent {len(keys)}, replays answered differently {mismatches} -> {'OK' if ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="offered requests per second (0 = max)")
    parser.add_argument("--per-phone", type=int, default=40, help="visits (new outcomes) per phone")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per process (overlap database waits)")
    args = parser.parse_args()
    url = create_database()
    process = None
    try:
        phones = seed(url, args.per_phone)
        port = free_port()
        process = start_gunicorn(url, port, args.workers, args.threads)
        dbname = url.rsplit("/", 1)[1]
        machine0, ours0 = machine_cpu_s(), bench_cpu_s(port, dbname)
        threads, wall_s = run(phones, port, args.rate)
        cpu = (machine_cpu_s() - machine0, bench_cpu_s(port, dbname) - ours0)
        report(threads, wall_s, url, args.rate, args.workers, args.threads, cpu)
    finally:
        if process is not None:
            stop_gunicorn(process)
        drop_database(url)


if __name__ == "__main__":
    main()
