"""1,000 simultaneous alerts, 10,000 messages through the webhook provider to a local receiver.

Builds a throwaway database with the migrations, seeds 1,000 collectors with an open missed-check-in
alert each, due to escalate, and 5 dispatchers (push + SMS each: 10 messages per alert). Starts a
local webhook receiver (its own process: asyncio, keep-alive, checks every HMAC signature, stamps
each delivery) and W notify workers (`python -m worker --no-cron --no-fork --queues notify`), then
runs ONE safety sweep: it escalates all 1,000 alerts and writes the 10,000 messages in its
transaction; its commit enqueues the delivery jobs. Prints, from the start of that sweep to each
message's arrival: p50/p99/max, messages per second, lost and duplicates.
Goal: p99 < 5 s, 0 lost, 0 duplicates.

Usage: python bench/notify.py [WORKERS] [THREADS] [BATCH]   (defaults 4, 8, 100)
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import Worker  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
N_ALERTS, N_DISPATCHERS = 1_000, 5
SECRET = "bench-secret"

SEED = [
    """INSERT INTO users (username, password_hash, role, name, phone, timezone, shift_start, shift_end,
                          max_visits_per_day, skills, team_size, active, token_version, created_at)
       SELECT 'bench' || g, 'x', 'collector', '收款员' || g, '+86138' || lpad(g::text, 8, '0'), 'Asia/Shanghai',
              '00:00', '23:59', 12, '{}', 1, true, 0, now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO users (username, password_hash, role, name, phone, timezone, shift_start, shift_end,
                          max_visits_per_day, skills, team_size, active, token_version, created_at)
       SELECT 'dispatch' || g, 'x', 'dispatcher', '调度' || g, '+86139' || lpad(g::text, 8, '0'), 'Asia/Shanghai',
              '00:00', '23:59', 0, '{}', 1, true, 0, now()
       FROM generate_series(1, :d) g""",
    # Each collector's alert was raised (and its level 1 notified) 6 minutes ago: the sweep escalates it.
    """INSERT INTO safety_alerts (kind, collector_id, state, level, duress, raised_at, notified_at, deadline,
                                  position, position_at, note, dedupe_key)
       SELECT 'missed_checkin', id, 'open', 1, false, now() - interval '6 minutes', now() - interval '6 minutes',
              now() - interval '11 minutes', ST_SetSRID(ST_MakePoint(104.06, 30.65), 4326)::geography,
              now() - interval '20 minutes', '', 'bench:' || id
       FROM users WHERE role = 'collector'""",
]


# --- the receiver (its own process) --------------------------------------------------------------

async def _serve(port_queue, secret: bytes) -> None:
    arrivals: dict[int, list[float]] = {}
    bad = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                if lines[0].startswith("GET /stats"):
                    payload = json.dumps({"arrivals": arrivals, "bad_signatures": bad[0]}).encode()
                    status = b"200 OK"
                else:
                    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                    if hmac.compare_digest(headers.get("x-fieldtrace-signature", ""), expected):
                        arrivals.setdefault(json.loads(body)["id"], []).append(time.time())
                        status, payload = b"200 OK", b"{}"
                    else:
                        bad[0] += 1
                        status, payload = b"401 Unauthorized", b"{}"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port_queue.put(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def receiver(port_queue) -> None:
    asyncio.run(_serve(port_queue, SECRET.encode()))


# --- the run ------------------------------------------------------------------------------------

def main() -> None:
    workers, threads, batch = (int(a) for a in (sys.argv[1:] + ["4", "8", "100"][len(sys.argv) - 1:])[:3])
    name = f"fieldtrace_bench_notify_{os.getpid()}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    prefix = f"bench-notify-{uuid.uuid4().hex[:6]}:"
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=receiver, args=(ports,), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    settings = {"NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "NOTIFY_WEBHOOK_SECRET": SECRET,
                "NOTIFY_PUSH_PROVIDER": "webhook", "NOTIFY_SMS_PROVIDER": "webhook",
                "NOTIFY_VOICE_PROVIDER": "webhook", "NOTIFY_EMAIL_PROVIDER": "webhook",
                "NOTIFY_PARALLEL_JOBS": str(workers), "NOTIFY_THREADS": str(threads),
                "NOTIFY_BATCH_SIZE": str(batch), "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex}
    procs = []
    try:
        from backend import create_app
        from backend.extensions import db, redis_conn
        from backend.safety.jobs import sweep_checkins

        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": REDIS_URL,
                          "QUEUE_PREFIX": prefix, **settings})
        with app.app_context():
            upgrade(revision="heads")
            with db.engine.begin() as connection:
                for statement in SEED:
                    connection.execute(sa.text(statement), {"n": N_ALERTS, "d": N_DISPATCHERS})
            env = {**os.environ, **settings, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                   "QUEUE_PREFIX": prefix}
            for _ in range(workers):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "worker", "--no-cron", "--no-fork", "--queues", "notify"], cwd=REPO,
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.time() + 120
            while len([w for w in Worker.all(connection=redis_conn.client)
                       if any(q.name.startswith(prefix) for q in w.queues)]) < workers:
                if time.time() > deadline:
                    raise SystemExit("workers did not start")
                time.sleep(0.2)
            time.sleep(1.0)

            started = time.time()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats
                profiler = cProfile.Profile()
                result = profiler.runcall(sweep_checkins)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            else:
                result = sweep_checkins()
            committed = time.time()
            print(f"sweep: escalated {result['escalated']} alerts, wrote {result['messages']} messages "
                  f"in {(committed - started) * 1000:.0f} ms (its commit enqueued the delivery jobs)")
            expected = result["messages"]
            stats = {}
            while time.time() - started < 180:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
                    stats = json.loads(response.read())
                if len(stats["arrivals"]) >= expected:
                    break
                time.sleep(0.25)
            time.sleep(2.0)  # anything arriving twice arrives now
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
                stats = json.loads(response.read())
            counts = db.session.execute(sa.text(
                "SELECT status, count(*) FROM notifications GROUP BY status")).all()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.terminate()
        admin.dispose()
        engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    arrivals = stats["arrivals"]
    firsts = sorted(min(times) - started for times in arrivals.values())
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    lost = expected - len(arrivals)
    span = max(max(times) for times in arrivals.values()) - started if arrivals else float("nan")
    q = statistics.quantiles(firsts, n=100) if len(firsts) > 1 else [float("nan")] * 99
    print(f"workers {workers}, threads {threads}, batch {batch}; machine: {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"alert -> delivery (from the sweep's start): p50 {q[49]:.2f} s   p99 {q[98]:.2f} s   "
          f"max {max(firsts):.2f} s")
    print(f"{len(arrivals)} delivered in {span:.2f} s: {len(arrivals) / span:.0f} messages/s")
    print(f"lost {lost}   duplicates {duplicates}   bad signatures {stats['bad_signatures']}   "
          f"rows: {dict((str(s), c) for s, c in counts)}")
    print("goal p99 < 5 s, 0 lost, 0 duplicates:", "MET" if q[98] < 5 and lost == 0 and duplicates == 0
          else "NOT MET")


if __name__ == "__main__":
    main()
