"""Contact status of a case (reachable / semi_lost / lost), recomputed from the contact log.

- reachable: the debtor answers (fewer than contact.unreachable_after_unanswered unanswered attempts in a
  row since last reached);
- semi_lost: the debtor cannot be reached (that many unanswered in a row), so third parties may be tried;
- lost: neither the debtor nor any contact reached for contact.lost_after_days consecutive days,
  counted from the later of the debtor's first unanswered attempt and the last third-party reach.
A case with no debtor attempt yet keeps the status it has.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import Case, ContactStatus
from backend.cases.service import set_contact_status
from backend.contacts.models import AttemptResult, ContactStatusChange
from backend.dbtypes import driver
from backend.policy.service import get_policy
from backend.timeutil import utcnow


@dataclass(frozen=True)
class StatusFacts:
    debtor_reached_at: datetime | None
    contact_reached_at: datetime | None
    debtor_failing_since: datetime | None
    debtor_failed: int = 0


# Written once as SQL: it runs after every attempt logged (each outcome from the door), and building
# it with the expression language each time cost more than PostgreSQL takes to run it. The one-case
# form runs as plain SQL on the session's DBAPI connection (same transaction) for the same reason.
_FACTS_SQL = """
SELECT last_reach.case_id, last_reach.debtor_reached_at, last_reach.contact_reached_at,
       streak.since AS debtor_failing_since, streak.failed AS debtor_failed
FROM (SELECT a.case_id,
             max(a.started_at) FILTER (WHERE a.contact_id IS NULL AND a.reached) AS debtor_reached_at,
             max(a.started_at) FILTER (WHERE (a.contact_id IS NOT NULL AND a.reached)
                                          OR a.result = '{third_party}') AS contact_reached_at
      FROM {log} a
      WHERE a.started_at <= %(now)s AND {cases}
      GROUP BY a.case_id) AS last_reach
CROSS JOIN LATERAL (
      SELECT min(b.started_at) AS since, count(*) AS failed
      FROM {log} b
      WHERE b.case_id = last_reach.case_id AND b.contact_id IS NULL AND NOT b.reached AND b.started_at <= %(now)s
        AND (last_reach.debtor_reached_at IS NULL OR b.started_at > last_reach.debtor_reached_at)) AS streak
"""
_FACTS_CASES = {
    "one": "a.case_id = %(case_id)s",
    "not_lost": f"a.case_id IN (SELECT id FROM cases WHERE contact_status <> '{ContactStatus.LOST.value}')",
}


@lru_cache(maxsize=len(_FACTS_CASES))
def facts_statement(cases: str = "one") -> str:
    """One statement: per case, last debtor and third-party reach, and the debtor's unanswered streak.

    cases: "one" (parameter case_id) or "not_lost" (every case not lost yet); parameter now.
    """
    return _FACTS_SQL.format(third_party=AttemptResult.THIRD_PARTY.value, log="contact_attempts",
                             cases=_FACTS_CASES[cases])


def with_facts(insert_sql: str) -> str:
    """insert_sql (INSERT INTO contact_attempts ... RETURNING id, case_id, contact_id, started_at, reached,
    result) and, in the same statement, the facts of its case (parameters case_id, now) counting the new
    row: columns (new id, facts...); no row when nothing was inserted. Saves a round trip per attempt."""
    facts = _FACTS_SQL.format(third_party=AttemptResult.THIRD_PARTY.value, log="log", cases=_FACTS_CASES["one"])
    return f"""
WITH new AS ({insert_sql}),
log AS (SELECT case_id, contact_id, started_at, reached, result FROM contact_attempts WHERE case_id = %(case_id)s
        UNION ALL SELECT case_id, contact_id, started_at, reached, result FROM new)
SELECT new.id, facts.debtor_reached_at, facts.contact_reached_at, facts.debtor_failing_since, facts.debtor_failed
FROM new LEFT JOIN ({facts}) AS facts ON true
"""


def facts_of(row) -> StatusFacts:
    """StatusFacts from a facts row's columns (all null when the case has no attempt up to now)."""
    debtor_reached_at, contact_reached_at, since, failed = row
    return StatusFacts(debtor_reached_at, contact_reached_at, since, failed or 0)


def _facts(session: Session, cases: str, params: dict) -> list[tuple[int, StatusFacts]]:
    """Run the facts statement for the session's view of the log: (case id, facts) rows."""
    session.flush()  # attempts added to the session count (plain SQL does not autoflush)
    rows = driver(session).execute(facts_statement(cases), params).fetchall()
    return [(row[0], StatusFacts(*row[1:])) for row in rows]


def decide_status(facts: StatusFacts, now: datetime, policy: Mapping) -> tuple[ContactStatus | None, datetime]:
    """Return the status the facts call for and since when (None: no debtor attempt yet, keep it)."""
    since = facts.debtor_failing_since
    if since is None and facts.debtor_reached_at is None:
        return None, now
    if since is None or facts.debtor_failed < policy["contact.unreachable_after_unanswered"]:
        return ContactStatus.REACHABLE, min(facts.debtor_reached_at or now, now)
    contact = facts.contact_reached_at
    quiet_since = max(since, contact) if contact else since
    lost_at = quiet_since + timedelta(days=policy["contact.lost_after_days"])
    if lost_at <= now:
        return ContactStatus.LOST, lost_at
    return ContactStatus.SEMI_LOST, now


def apply_status(session: Session, case: Case, status: ContactStatus | None, changed_at: datetime, *, reason: str,
                 attempt_id: int | None = None) -> ContactStatusChange | None:
    """Move the case to status, recording the transition (nothing when it is unchanged)."""
    if status is None or case.contact_status == status:
        return None
    change = ContactStatusChange(case_id=case.id, from_status=case.contact_status, to_status=status,
                                 changed_at=changed_at, reason=reason, attempt_id=attempt_id, recorded_at=utcnow())
    session.add(change)
    set_contact_status(case, status, changed_at)
    session.flush()
    return change


def recompute_status(session: Session, case: Case, *, now: datetime | None = None, reason: str = "attempt",
                     attempt_id: int | None = None, policy: Mapping | None = None,
                     facts: StatusFacts | None = None) -> ContactStatus:
    """Recompute one case's contact status from its log (or from facts already read as of now);
    record a transition when it changes."""
    now = now or utcnow()
    if facts is None:
        found = _facts(session, "one", {"now": now, "case_id": case.id})
        facts = found[0][1] if found else StatusFacts(None, None, None)
    status, changed_at = decide_status(facts, now, policy or get_policy(session, case.portfolio_id))
    apply_status(session, case, status, changed_at, reason=reason, attempt_id=attempt_id)
    return case.contact_status


def sweep_contact_statuses(session: Session, *, now: datetime | None = None) -> int:
    """Turn cases lost by the passage of time (no new attempt needed); return how many changed."""
    now = now or utcnow()
    policies: dict[int, Mapping] = {}
    changed = 0
    for case_id, facts in _facts(session, "not_lost", {"now": now}):
        if facts.debtor_failing_since is None:
            continue
        case = session.get(Case, case_id)
        if case.portfolio_id not in policies:
            policies[case.portfolio_id] = get_policy(session, case.portfolio_id)
        status, changed_at = decide_status(facts, now, policies[case.portfolio_id])
        if apply_status(session, case, status, changed_at, reason="sweep"):
            changed += 1
    return changed


def status_history(session: Session, case_id: int) -> list[ContactStatusChange]:
    """Return a case's status transitions, oldest first."""
    return list(session.scalars(sa.select(ContactStatusChange).where(ContactStatusChange.case_id == case_id)
                                .order_by(ContactStatusChange.changed_at, ContactStatusChange.id)))
