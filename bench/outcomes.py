"""100 phones posting visit outcomes to gunicorn at once, 10% of them replays of an earlier report.

Creates and migrates a throwaway database, seeds collectors with assigned visits, starts gunicorn
(wsgi:app) on it, warms it up (one untimed report per phone), then each simulated phone posts its
outcomes over its own keep-alive connection, one every 100/rate seconds (open loop: a phone behind
schedule sends at once, and latency is also reported counted from when each report was due).
Prints throughput (overall, and while every phone was reporting), latency percentiles, status
counts, where the CPU went (gunicorn, its PostgreSQL backends, the phones; how busy the rest of the
machine was) and the duplicate check (rows stored == distinct keys sent; every replay answered 200
with the first body). Drops the database and stops gunicorn.

The phones run as threads spread over a few client processes, each on a bare keep-alive HTTP/1.1
socket: they share the machine's two cores with the server, so the client is kept cheap.

Usage: python bench/outcomes.py [--rate 200] [--per-phone 40] [--workers 3] [--threads 2]
       [--worker-class gthread] [--clients 4]      (--rate 0: as fast as the phones can go)
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
            reports = [(v.id, spot) for v, spot in zip(visits, spots, strict=True)]
            phones.append({"token": token, "warm_up": reports[0], "visits": reports[1:]})
        session.commit()
    return phones


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int, worker_class: str) -> subprocess.Popen:
    """Start gunicorn on wsgi:app against the bench database and wait until it answers."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": SECRET,
           "QUEUE_PREFIX": f"bench{os.getpid()}:"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads), "-k", worker_class,
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


class Connection:
    """One phone's keep-alive HTTP/1.1 connection, kept as cheap as possible: the phones share the
    server's two cores, so every client microsecond is one the server does not get."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def post(self, path: str, headers: str, body: bytes) -> tuple[int, bytes]:
        self.sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return int(status_line.split(None, 2)[1]), self.reader.read(length)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Phone(threading.Thread):
    """One collector's phone: posts its outcomes in turn, sometimes resending an earlier one."""

    def __init__(self, phone: dict, port: int, interval_s: float, start_at: float, rng: random.Random):
        super().__init__(daemon=True)
        self.phone, self.port = phone, port
        self.interval_s, self.start_at, self.rng = interval_s, start_at, rng
        self.samples: list[tuple[float, int, float, float]] = []  # latency, status, how late sent, when sent
        self.due = 0.0
        self.sent: list[tuple[str, int, bytes, dict]] = []  # key, visit id, body, first answer
        self.replay_mismatches = 0
        # Opened by the first report: an idle new connection would hold one of gunicorn's threads.
        self.connection: Connection | None = None

    def run(self) -> None:
        headers = f"Authorization: Bearer {self.phone['token']}\r\nContent-Type: application/json\r\n"
        visits = list(self.phone["visits"])
        self.due = self.start_at + self.rng.uniform(0, self.interval_s or 0.01)
        while visits:
            if self.interval_s:
                time.sleep(max(0.0, self.due - time.monotonic()))
            if self.sent and self.rng.random() < REPLAY_SHARE:
                key, visit_id, body, first = self.rng.choice(self.sent)
                status, answer = self._post(headers, visit_id, key, body)
                self.replay_mismatches += status != 200 or answer != first
                continue
            visit_id, (lat, lon) = visits.pop()
            key = str(uuid.uuid4())
            body = json.dumps({"outcome": self.rng.choice(("met_debtor", "not_home", "refused")),
                               "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                               "lat": lat + self.rng.uniform(-0.0005, 0.0005), "lon": lon,
                               "accuracy_m": self.rng.choice((8, 15, 40))}).encode()
            status, answer = self._post(headers, visit_id, key, body)
            if status == 201:
                self.sent.append((key, visit_id, body, answer))
        if self.connection is not None:
            self.connection.close()

    def _post(self, headers: str, visit_id: int, key: str, body: bytes):
        started = time.monotonic()
        if self.connection is None:  # opened with the first report, as a phone does (timed with it)
            self.connection = Connection(self.port)
        status, payload = self.connection.post(f"/api/v1/visits/{visit_id}/outcome",
                                               f"{headers}Idempotency-Key: {key}\r\n", body)
        self.samples.append((time.monotonic() - started, status, max(0.0, started - self.due), started))
        if self.interval_s:
            self.due += self.interval_s
        return status, json.loads(payload)


def run_phones(phones: list[dict], port: int, interval: float, start_at: float, seed: float, pipe) -> None:
    """One client process: its share of the phones as threads; sends back what each saw."""
    rng = random.Random(seed)
    threads = [Phone(p, port, interval, start_at, random.Random(rng.random())) for p in phones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pipe.send([(t.samples, t.sent, t.replay_mismatches) for t in threads])
    pipe.close()


def cpu_by_part(port: int, dbname: str) -> dict[str, float]:
    """CPU seconds so far of gunicorn (master and workers), its PostgreSQL backends, and the phones
    (this process and its finished client processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    times = os.times()
    parts = {"gunicorn": 0.0, "postgres": 0.0, "phones": times.user + times.system
             + times.children_user + times.children_system}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        part = "gunicorn" if f"127.0.0.1:{port}" in cmd and "gunicorn" in cmd else "postgres" if dbname in cmd else None
        if part:
            parts[part] += (int(stat[11]) + int(stat[12])) / tick
    return parts


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in open("/proc/stat").readline().split()[1:9])  # guest time is counted in user already
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def settings(url: str, args) -> list[str]:
    """The versions and settings a figure depends on, so it can be reproduced (or told apart)."""
    from importlib.metadata import version

    import psycopg

    from backend.config import Config

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        server = connection.scalar(sa.text("SHOW server_version"))
        pg = {name: connection.scalar(sa.text(f"SHOW {name}"))
              for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections")}
        # What one durable commit costs on this disk now: every new outcome waits for one.
        probe = sa.text("INSERT INTO idempotency_records (user_id, key, scope, request_hash, status, body, created_at) "
                        "SELECT id, :key, 'bench.probe', '', 0, '{}', now() FROM users LIMIT 1")
        commits = []
        for _ in range(30):
            start = time.perf_counter()
            connection.execute(probe, {"key": f"probe-{uuid.uuid4()}"})
            connection.commit()
            commits.append((time.perf_counter() - start) * 1000)
        connection.execute(sa.text("DELETE FROM idempotency_records WHERE scope = 'bench.probe'"))
        connection.commit()
    engine.dispose()
    options = Config.SQLALCHEMY_ENGINE_OPTIONS
    return [
        f"Python {sys.version.split()[0]}, gunicorn {version('gunicorn')}, Flask {version('flask')}, "
        f"SQLAlchemy {version('sqlalchemy')}, psycopg {psycopg.__version__} ({psycopg.pq.__impl__}, libpq "
        f"{psycopg.pq.version()}), PostgreSQL {server}",
        f"PostgreSQL synchronous_commit={pg['synchronous_commit']} fsync={pg['fsync']} shared_buffers="
        f"{pg['shared_buffers']} max_connections={pg['max_connections']}; one durable commit now: p50 "
        f"{percentile(commits, 0.5):.2f} ms, p90 {percentile(commits, 0.9):.2f} ms",
        f"gunicorn {args.worker_class} {args.workers} workers x {args.threads} threads; SQLAlchemy pool_size "
        f"{options.get('pool_size')} max_overflow {options.get('max_overflow')} per worker; {os.cpu_count()} CPUs; "
        f"load average before {args.load_before}",
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def warm_up(phones: list[dict], port: int) -> list[tuple]:
    """One untimed report per phone, ten at a time on fresh connections, so that every gunicorn
    thread has its database connection and every process its compiled statements before the clock
    starts (a server in service is warm). Returns (no samples, sent, mismatches) like a phone."""
    sent: list[tuple] = []

    def report(phone: dict) -> None:
        visit_id, (lat, lon) = phone["warm_up"]
        key = str(uuid.uuid4())
        body = json.dumps({"outcome": "not_home", "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                           "lat": lat, "lon": lon, "accuracy_m": 15}).encode()
        connection = Connection(port)
        status, payload = connection.post(f"/api/v1/visits/{visit_id}/outcome", f"Authorization: Bearer {phone['token']}"
                                          f"\r\nContent-Type: application/json\r\nIdempotency-Key: {key}\r\n", body)
        connection.close()
        if status != 201:
            raise RuntimeError(f"warm-up report answered {status}: {payload[:200]!r}")
        sent.append((key, visit_id, body, json.loads(payload)))

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(report, phones))
    return [([], sent, 0)]


def run(phones: list[dict], port: int, rate: float, processes: int) -> tuple[list[tuple], float]:
    """All phones at once, spread over a few client processes; returns each phone's results."""
    interval = PHONES / rate if rate else 0.0
    start_at = time.monotonic() + 1.0
    rng = random.Random(11)
    context = multiprocessing.get_context("fork")
    clients = []
    for index in range(processes):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=run_phones, args=(phones[index::processes], port, interval, start_at,
                                                           rng.random(), sender), daemon=True)
        process.start()
        clients.append((process, receiver))
    results = []
    for process, receiver in clients:
        results.extend(receiver.recv())
        process.join()
    return results, time.monotonic() - start_at


def report(results: list[tuple], warmed: list[tuple], wall_s: float, url: str, rate: float, args, machine_busy: float,
           parts: dict[str, float], cpu_wall_s: float) -> None:
    samples = [s for samples, _, _ in results for s in samples]
    latencies = [latency * 1000 for latency, *_ in samples]
    # Open loop: a phone whose answer came late sends its next report late; counted from when it was
    # due, a report's latency includes that wait.
    from_due = [(latency + late) * 1000 for latency, _, late, _ in samples]
    statuses: dict[int, int] = {}
    for _, status, *_ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    keys = {key for _, sent, _ in results + warmed for key, *_ in sent}
    warm_keys = {key for _, sent, _ in warmed for key, *_ in sent}
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.scalar(sa.text("SELECT count(*) FROM visit_outcomes"))
        distinct = connection.scalar(sa.text("SELECT count(DISTINCT idempotency_key) FROM visit_outcomes"))
        records = connection.scalar(sa.text("SELECT count(*) FROM idempotency_records"))
    engine.dispose()
    mismatches = sum(m for _, _, m in results)
    replays = statuses.get(200, 0)
    n = len(samples)
    for line in args.settings:
        print(line)
    print(f"gunicorn {args.worker_class}: {args.workers} workers x {args.threads} threads | {PHONES} phones "
          f"(keep-alive connections, {args.clients} client processes) | "
          f"offered rate {'max' if not rate else f'{rate:.0f}/s'} | load average before {args.load_before}, "
          f"after {' '.join(open('/proc/loadavg').read().split()[:3])}")
    # While every phone was reporting (not the staggered start, not the tail of phones with more replays).
    first = max(min(s[3] for s in phone_samples) for phone_samples, _, _ in results if phone_samples)
    last = min(max(s[3] for s in phone_samples) for phone_samples, _, _ in results if phone_samples)
    steady = sum(first <= s[3] <= last for s in samples) / max(last - first, 1e-9)
    print(f"requests {n} in {wall_s:.1f} s -> {n / wall_s:.0f} req/s overall, {steady:.0f} req/s while all phones "
          f"were reporting "
          f"({(len(keys) - len(warm_keys)) / wall_s:.0f} new outcomes/s, {replays} replays = {100 * replays / n:.1f} %) "
          f"after {len(warm_keys)} untimed warm-up reports")
    print(f"latency ms: p50 {percentile(latencies, 0.50):.1f} | p90 {percentile(latencies, 0.90):.1f} | "
          f"p99 {percentile(latencies, 0.99):.1f} | max {max(latencies):.1f}")
    if rate:
        print(f"latency ms counted from when each report was due: p50 {percentile(from_due, 0.50):.1f} | "
              f"p99 {percentile(from_due, 0.99):.1f} | max {max(from_due):.1f}")
    print(f"status counts: {dict(sorted(statuses.items()))}")
    ours = sum(parts.values())
    print(f"CPU: machine busy {100 * machine_busy / os.cpu_count():.0f} % of {os.cpu_count()} cores; "
          f"this benchmark {1000 * ours / n:.1f} ms CPU per request = gunicorn {1000 * parts['gunicorn'] / n:.1f} + "
          f"postgres {1000 * parts['postgres'] / n:.1f} + phones {1000 * parts['phones'] / n:.1f}; "
          f"other processes {100 * max(0.0, machine_busy - ours / cpu_wall_s) / os.cpu_count():.0f} %")
    ok = rows == distinct == records == len(keys) and mismatches == 0
    print(f"duplicates: rows stored {rows}, distinct keys stored {distinct}, idempotency records {records}, "
          f"distinct keys sent {len(keys)}, replays answered differently {mismatches} -> {'OK' if ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="offered requests per second (0 = max)")
    parser.add_argument("--per-phone", type=int, default=40, help="visits (new outcomes) per phone")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per process (overlap database waits)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--clients", type=int, default=4, help="client processes the phones are spread over")
    args = parser.parse_args()
    args.load_before = " ".join(open("/proc/loadavg").read().split()[:3])
    url = create_database()
    process = None
    try:
        phones = seed(url, args.per_phone + 1)  # one visit each for the warm-up
        args.settings = settings(url, args)
        port = free_port()
        process = start_gunicorn(url, port, args.workers, args.threads, args.worker_class)
        dbname = url.rsplit("/", 1)[1]
        warmed = warm_up(phones, port)
        machine0, parts0, clock0 = machine_cpu_s(), cpu_by_part(port, dbname), time.monotonic()
        results, wall_s = run(phones, port, args.rate, args.clients)
        parts = {k: v - parts0[k] for k, v in cpu_by_part(port, dbname).items()}
        cpu_wall_s = time.monotonic() - clock0  # includes the clients' start-up, as the CPU figures do
        report(results, warmed, wall_s, url, args.rate, args, (machine_cpu_s() - machine0) / cpu_wall_s, parts,
               cpu_wall_s)
    finally:
        if process is not None:
            stop_gunicorn(process)
        drop_database(url)


if __name__ == "__main__":
    main()
