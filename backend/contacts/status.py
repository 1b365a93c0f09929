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

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from backend.cases.models import Case, ContactStatus
from backend.contacts.models import AttemptResult, ContactAttempt, ContactStatusChange
from backend.policy.service import get_policy
from backend.timeutil import utcnow


@dataclass(frozen=True)
class StatusFacts:
    debtor_reached_at: datetime | None
    contact_reached_at: datetime | None
    debtor_failing_since: datetime | None
    debtor_failed: int = 0


def facts_statement(now: datetime, case_ids=None, exclude_lost: bool = False):
    """One statement: per case, last debtor and third-party reach, and the debtor's unanswered streak."""
    a = ContactAttempt
    third_party_reach = sa.or_(sa.and_(a.contact_id.is_not(None), a.reached.is_(True)),
                               a.result == AttemptResult.THIRD_PARTY)
    last = (sa.select(a.case_id,
                      sa.func.max(a.started_at).filter(a.contact_id.is_(None), a.reached.is_(True))
                      .label("debtor_reached_at"),
                      sa.func.max(a.started_at).filter(third_party_reach).label("contact_reached_at"))
            .where(a.started_at <= now).group_by(a.case_id))
    if case_ids is not None:
        last = last.where(a.case_id.in_(case_ids))
    if exclude_lost:
        last = last.where(a.case_id.in_(sa.select(Case.id).where(Case.contact_status != ContactStatus.LOST)))
    last = last.subquery("last_reach")
    b = aliased(ContactAttempt)
    streak = (sa.select(sa.func.min(b.started_at).label("since"), sa.func.count().label("failed"))
              .where(b.case_id == last.c.case_id, b.contact_id.is_(None), b.reached.is_(False), b.started_at <= now,
                     sa.or_(last.c.debtor_reached_at.is_(None), b.started_at > last.c.debtor_reached_at))
              .lateral("streak"))
    return (sa.select(last.c.case_id, last.c.debtor_reached_at, last.c.contact_reached_at,
                      streak.c.since.label("debtor_failing_since"), streak.c.failed.label("debtor_failed"))
            .select_from(last).join(streak, sa.true()))


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
    case.contact_status = status
    case.status_changed_at = changed_at
    session.flush()
    return change


def recompute_status(session: Session, case: Case, *, now: datetime | None = None, reason: str = "attempt",
                     attempt_id: int | None = None, policy: Mapping | None = None) -> ContactStatus:
    """Recompute one case's contact status from its log; record a transition when it changes."""
    now = now or utcnow()
    row = session.execute(facts_statement(now, case_ids=[case.id])).one_or_none()
    facts = StatusFacts(*row[1:]) if row else StatusFacts(None, None, None)
    status, changed_at = decide_status(facts, now, policy or get_policy(session, case.portfolio_id))
    apply_status(session, case, status, changed_at, reason=reason, attempt_id=attempt_id)
    return case.contact_status


def sweep_contact_statuses(session: Session, *, now: datetime | None = None) -> int:
    """Turn cases lost by the passage of time (no new attempt needed); return how many changed."""
    now = now or utcnow()
    policies: dict[int, Mapping] = {}
    changed = 0
    for row in session.execute(facts_statement(now, exclude_lost=True)):
        if row.debtor_failing_since is None:
            continue
        case = session.get(Case, row.case_id)
        if case.portfolio_id not in policies:
            policies[case.portfolio_id] = get_policy(session, case.portfolio_id)
        status, changed_at = decide_status(StatusFacts(*row[1:]), now, policies[case.portfolio_id])
        if apply_status(session, case, status, changed_at, reason="sweep"):
            changed += 1
    return changed


def status_history(session: Session, case_id: int) -> list[ContactStatusChange]:
    """Return a case's status transitions, oldest first."""
    return list(session.scalars(sa.select(ContactStatusChange).where(ContactStatusChange.case_id == case_id)
                                .order_by(ContactStatusChange.changed_at, ContactStatusChange.id)))
