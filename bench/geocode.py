"""Geocoding 10,000 text-only addresses (30 % repeats) through the geocode job, and the gazetteer's parse rate.

Part 1 builds a throwaway database (migrations, like the tests), stores 10,000 cases whose home address
is text only (7,000 distinct texts, 3,000 repeats, in random order), starts a local HTTP server that
answers like Nominatim's /search?format=jsonv2 with 20 ms latency and refuses (HTTP 429) beyond 50
requests/s, points GEOCODER=nominatim at it with GEOCODER_RATE_PER_S=50, submits the job with
jobs.submit_job and drains the `geocode` queue with an RQ worker in burst mode. Prints wall time,
requests the server saw (goal: = distinct texts), requests it refused, cache hits, and how the
addresses ended. A second import of 1,000 of the same texts shows the database cache: 0 requests.

Part 2: the gazetteer's parse rate on real-format addresses, i.e. text written the ways creditors
write it (full 省市区, no province, short forms 四川成都, "中国" prefix, spaces and full-width digits,
municipalities) for every district in the data, with the right district known by construction.
No real creditor address file was available (../shared/data holds none), so these are generated from
the official division names; the goal is >= 99 % parsed to the right district.

Usage: python bench/geocode.py [ADDRESSES]   (default 10000)
"""
from __future__ import annotations

import os
import random
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import SimpleWorker  # noqa: E402

from backend import create_app  # noqa: E402
from backend.cases.geocode import submit_geocoding  # noqa: E402
from backend.cases.models import AddressKind, Case, CaseAddress  # noqa: E402
from backend.extensions import db, redis_conn  # noqa: E402
from backend.geocoding.gazetteer import gazetteer  # noqa: E402
from backend.geocoding.types import normalise_address  # noqa: E402
from backend.jobs.models import BackgroundJob  # noqa: E402
from backend.policy.service import ensure_default_portfolio  # noqa: E402
from backend.queues import get_queue  # noqa: E402
from tests.geo.servers import NominatimLike  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
REPEAT_SHARE, LATENCY_S, LIMIT_PER_S = 0.30, 0.020, 50
STREETS = ("人民路", "解放路", "建设路", "科华北路", "中山大道", "滨江东路", "光华大道", "春熙路", "文化街", "新华路")
rng = random.Random(7)


def districts():
    g = gazetteer()
    return [d for d in g.by_code.values() if d.level == "district" and d.own_centroid]


def street(rng) -> str:
    return f"{rng.choice(STREETS)}{rng.randint(1, 400)}号{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(101, 3202)}室"


def full_text(district) -> str:
    g = gazetteer()
    city = g.by_code.get(district.parent)
    province = g.by_code.get(district.adcode[:2] + "0000")
    parts = [province.name]
    if city is not None and city.level == "city" and city.name != province.name:
        parts.append(city.name)
    parts.append(district.name)
    return "".join(parts) + street(rng)


def texts(n: int) -> list[str]:
    """n address texts, (1 - REPEAT_SHARE) * n distinct, the rest repeats, shuffled."""
    pool = districts()
    distinct = [full_text(rng.choice(pool)) for _ in range(int(n * (1 - REPEAT_SHARE)))]
    distinct = list(dict.fromkeys(distinct))
    while len(distinct) < int(n * (1 - REPEAT_SHARE)):
        distinct = list(dict.fromkeys([*distinct, full_text(rng.choice(pool))]))
    out = distinct + [rng.choice(distinct) for _ in range(n - len(distinct))]
    rng.shuffle(out)
    return out


def store_cases(session, all_texts: list[str], prefix: str) -> None:
    portfolio = ensure_default_portfolio(session)
    cases = [{"external_ref": f"{prefix}-{i}", "portfolio_id": portfolio.id, "debtor_name": f"Debtor {i}",
              "amount_due": 1000, "currency": "CNY", "days_past_due": 30, "timezone": "Asia/Shanghai"}
             for i in range(len(all_texts))]
    ids = session.scalars(sa.insert(Case).returning(Case.id), cases).all()
    session.execute(sa.insert(CaseAddress), [
        {"case_id": case_id, "kind": AddressKind.HOME, "text": text, "normalised_text": normalise_address(text),
         "source": "import", "geocode_status": "pending"} for case_id, text in zip(ids, all_texts, strict=True)])
    session.commit()


def run_job(session, app) -> tuple[float, dict]:
    ids = list(session.scalars(sa.select(CaseAddress.id).where(CaseAddress.geocode_status == "pending")))
    started = time.perf_counter()
    job_id = submit_geocoding(session, ids, actor_id=None)
    SimpleWorker([get_queue("geocode")], connection=redis_conn.client).work(burst=True)
    wall = time.perf_counter() - started
    session.expire_all()
    job = session.get(BackgroundJob, job_id)
    assert job.status.value == "done", job.error
    return wall, job.result


def part_one(n: int) -> None:
    name = f"fieldtrace_bench_geocode_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    all_texts = texts(n)
    distinct = len(set(map(normalise_address, all_texts)))
    # The server knows 97 % of the texts; the rest fall back to the gazetteer.
    known = {normalise_address(t): (30.6 + rng.random() / 10, 104.0 + rng.random() / 10, 30)
             for t in set(all_texts) if rng.random() < 0.97}
    try:
        with NominatimLike(known, latency_s=LATENCY_S, limit_per_s=LIMIT_PER_S) as server:
            app = create_app({"SQLALCHEMY_DATABASE_URI": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                              "REDIS_URL": REDIS_URL, "QUEUE_PREFIX": f"bench-{name}:", "GEOCODER": "nominatim",
                              "NOMINATIM_URL": server.url, "GEOCODER_RATE_PER_S": str(LIMIT_PER_S)})
            with app.app_context():
                upgrade(revision="heads")
                store_cases(db.session, all_texts, "BENCH")
                wall, result = run_job(db.session, app)
                print(f"addresses                 {n:,} ({distinct:,} distinct texts, {n - distinct:,} repeats)")
                print(f"wall time (job)           {wall:.1f} s   ({n / wall:,.0f} addresses/s)")
                print(f"requests made             {len(server.requests):,}   (goal = distinct texts: {distinct:,}; "
                      f"{server.refused:,} of them refused with 429 and asked again)")
                print(f"cache hits in the job     {result['cache_hits']:,}   (repeats within the batch never leave "
                      f"the job: {n - distinct:,} served by the first answer)")
                print(f"located / not found       {result['located']:,} / {result['not_found']:,} "
                      f"(gazetteer fallback: {result['gazetteer']:,})")
                before = len(server.requests)
                store_cases(db.session, [rng.choice(all_texts) for _ in range(1000)], "AGAIN")
                wall2, result2 = run_job(db.session, app)
                print(f"second import, 1,000 known texts: {len(server.requests) - before} requests, "
                      f"{result2['cache_hits']:,} cache hits, {wall2:.2f} s")
                redis_conn.client.delete(*redis_conn.client.keys(f"bench-{name}:*") or ["-"])
                db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def variants(district) -> list[str]:
    """The forms a district's address is written in by creditors' systems and clerks."""
    g = gazetteer()
    province = g.by_code[district.adcode[:2] + "0000"]
    city = g.by_code.get(district.parent)
    city_name = city.name if city is not None and city.level == "city" and city.name != province.name else ""
    body = street(rng)
    short = lambda name: name.removesuffix("省").removesuffix("市")  # noqa: E731
    out = [province.name + city_name + district.name + body,
           "中国 " + province.name + " " + city_name + " " + district.name + " " + body.replace("1", "１"),
           short(province.name) + short(city_name) + district.name + body]
    if city_name:
        out.append(city_name + district.name + body)
    return out


def part_two() -> None:
    total = right = 0
    misses = []
    for district in districts():
        for text in variants(district):
            total += 1
            found = gazetteer().parse(text).district
            if found is not None and found.adcode == district.adcode:
                right += 1
            elif len(misses) < 8:
                misses.append((text, found and found.name, district.name))
    print(f"gazetteer parse rate      {right:,}/{total:,} = {right / total:.2%} right district "
          f"({len(districts()):,} districts, 3-4 written forms each; goal >= 99 %)")
    for text, got, want in misses:
        print(f"  miss: {text}  -> {got}  (want {want})")


if __name__ == "__main__":
    part_two()
    part_one(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
