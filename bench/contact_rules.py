"""Checking one contact attempt against every lawful-contact rule, on a case with 10,000 logged attempts.

Builds a throwaway database (migrations, like the tests), logs 10,000 attempts across the debtor and
5 contacts over a year, then times check_attempt (the whole check: policy, counters statement, rules)
a few hundred times for random parties and times, under the CN default profile and the US profile
(whose lifetime third-party cap reads a party's whole history). Prints min / median / p99 and the
EXPLAIN ANALYZE plan lines of the counters statement. The target is under 5 ms per check.

Usage: python bench/contact_rules.py [CHECKS]   (default 300)
"""
from __future__ import annotations

import os
import random
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from backend import create_app  # noqa: E402
from backend.cases.models import AddressKind, Case, CaseAddress, CaseContact, ContactStatus  # noqa: E402
from backend.contacts.rules import check_attempt, classify_party, counters_query  # noqa: E402
from backend.extensions import db  # noqa: E402
from backend.geo import make_point  # noqa: E402
from backend.policy.service import create_portfolio, get_policy  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
N_ATTEMPTS, N_CONTACTS, SPAN_DAYS = 10_000, 5, 365
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def build_case(session, profile: str) -> Case:
    """One case with N_CONTACTS third parties and N_ATTEMPTS attempts spread over a year."""
    portfolio = create_portfolio(session, code=f"bench-{profile}", creditor="Bench Bank", profile=profile)
    case = Case(external_ref=f"BENCH-{profile}", portfolio_id=portfolio.id, debtor_name="Bench Debtor",
                amount_due=Decimal("12000.00"), currency="CNY", days_past_due=60, timezone="Asia/Shanghai",
                contact_status=ContactStatus.SEMI_LOST, status_changed_at=NOW, created_at=NOW, updated_at=NOW)
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="bench", location=make_point(30.65, 104.06)))
    for k in range(N_CONTACTS):
        session.add(CaseContact(case_id=case.id, name=f"Contact {k}", relationship=("parent", "friend")[k % 2],
                                phone_e164=f"+86139001390{k:02d}", is_guarantor=False, do_not_contact=False,
                                volunteered_to_pay=False, source="bench"))
    session.flush()
    session.refresh(case)
    # One INSERT ... SELECT: party round-robin (NULL = debtor), times spread back from NOW, mixed results.
    session.execute(sa.text("""
        INSERT INTO contact_attempts (case_id, contact_id, channel, started_at, result, reached, notes, late_entry,
                                      violations, asked_not_to_be_contacted, source, recorded_at)
        SELECT :case_id, (CAST(:parties AS integer[]))[1 + g % (:contacts + 1)],
               (ARRAY['call','call','call','sms','letter'])[1 + g % 5]::contact_channel,
               :now - make_interval(secs => g * (:span * 86400.0 / :n)),
               (ARRAY['no_answer','no_answer','answered','wrong_number'])[1 + (g / 7) % 4]::contact_result,
               ((g / 7) % 4 = 2), '', false, '[]'::jsonb, false, 'bench', :now
        FROM generate_series(1, :n) AS g
    """), {"case_id": case.id, "parties": [None, *(c.id for c in case.contacts)], "contacts": N_CONTACTS,
           "now": NOW, "span": SPAN_DAYS, "n": N_ATTEMPTS})
    session.commit()
    return case


def time_checks(session, case: Case, checks: int, rng: random.Random) -> list[float]:
    """Run check_attempt `checks` times; return milliseconds per check."""
    parties = [None, *case.contacts]
    policy = get_policy(session, case.portfolio_id)
    timings = []
    for _ in range(checks):
        contact = rng.choice(parties)
        at = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
        started = time.perf_counter()
        check_attempt(session, case=case, contact=contact, channel="call", at=at, policy=policy)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def explain(session, case: Case, contact) -> list[str]:
    """EXPLAIN ANALYZE the counters statement for one party; return the plan lines."""
    policy = get_policy(session, case.portfolio_id)
    statement, params = counters_query(case_id=case.id, party=classify_party(contact, policy), at=NOW,
                                       tz_name=case.timezone, policy=policy)
    plan = session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS OFF) " + statement.text), params)
    return [row[0] for row in plan]


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * len(ordered))) - 1)]
    print(f"{label}: {len(timings)} checks | min {ordered[0]:.2f} ms | median {statistics.median(ordered):.2f} ms"
          f" | p99 {p99:.2f} ms | max {ordered[-1]:.2f} ms")


def main(checks: int) -> None:
    name = f"fieldtrace_bench_{os.getpid()}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                          "SECRET_KEY": secrets.token_urlsafe(48)})
        with app.app_context():
            upgrade(revision="heads")
            run(db.session, checks)
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(session, checks: int) -> None:
    rng = random.Random(7)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work shares this machine)")
    cases = [build_case(session, profile) for profile in ("cn_default", "us_fdcpa")]
    session.execute(sa.text("ANALYZE contact_attempts"))
    for case in cases:
        logged = session.scalar(sa.select(sa.func.count()).select_from(sa.table("contact_attempts"))
                                .where(sa.column("case_id") == case.id))
        print(f"\nprofile {case.portfolio.profile}: one case with {logged} attempts "
              f"({logged // (N_CONTACTS + 1)} per party over {SPAN_DAYS} days)")
        time_checks(session, case, 20, rng)  # warm the connection and the statement cache
        report("  full rule check (check_attempt)", time_checks(session, case, checks, rng))
        for label, contact in (("debtor", None), ("third party", case.contacts[0])):
            plan = explain(session, case, contact)
            print(f"  EXPLAIN ANALYZE ({label}):")
            for line in plan:
                if "Index" in line or "Execution Time" in line:
                    print(f"    {line.strip()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
