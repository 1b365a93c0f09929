"""Compliance views: next lawful contact per party, follow-up minimums, late or rule-breaking entries."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import Case, CaseContact, ContactStatus
from backend.contacts.attempts import party_view
from backend.contacts.models import Channel, ContactAttempt
from backend.contacts.rules import check_attempt
from backend.pagination import paginate
from backend.policy.models import Portfolio
from backend.policy.service import get_policy
from backend.timeutil import utcnow

# How far ahead next-contact searches: each step jumps to when the current violations lapse.
MAX_STEPS = 12
# The units the follow-up settings are named in ("per week", "per month").
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)


def earliest_contact(session: Session, *, case: Case, contact: CaseContact | None, channel: Channel,
                     now: datetime, policy) -> dict:
    """The earliest lawful time to contact one party on a channel, and the rules that push it out."""
    at, reasons = now, {}
    for _ in range(MAX_STEPS):
        check = check_attempt(session, case=case, contact=contact, channel=channel, at=at, policy=policy)
        if check.allowed:
            return {"earliest_at": at, "allowed_now": at == now, "blocked": False,
                    "reasons": [v.as_dict() for v in reasons.values()]}
        for violation in check.violations:
            reasons.setdefault((violation.code, violation.rule), violation)
        upcoming = check.next_allowed_at
        if upcoming is None:
            return {"earliest_at": None, "allowed_now": False, "blocked": True,
                    "reasons": [v.as_dict() for v in check.violations]}
        at = max(upcoming, at + timedelta(seconds=1))
    return {"earliest_at": None, "allowed_now": False, "blocked": False,
            "reasons": [v.as_dict() for v in reasons.values()]}


def next_contact(session: Session, *, case: Case, channel: Channel = Channel.CALL,
                 now: datetime | None = None) -> dict:
    """For the debtor and each contact: the earliest lawful time to try again, and why."""
    now = now or utcnow()
    policy = get_policy(session, case.portfolio_id)
    contacts = session.scalars(sa.select(CaseContact).where(CaseContact.case_id == case.id)
                               .order_by(CaseContact.id)).all()
    parties = []
    for contact in (None, *contacts):
        parties.append({**party_view(case, contact, policy),
                        **earliest_contact(session, case=case, contact=contact, channel=channel, now=now,
                                           policy=policy)})
    return {"case_id": case.id, "timezone": case.timezone, "channel": channel.value, "as_of": now,
            "contact_status": case.contact_status.value, "parties": parties}


def _thresholds(session: Session, portfolio_id: int | None):
    query = sa.select(Portfolio.id)
    if portfolio_id is not None:
        query = query.where(Portfolio.id == portfolio_id)
    rows = []
    for pid in session.scalars(query):
        policy = get_policy(session, pid)
        rows.append((pid, policy["contact.followup_reachable_per_week"], policy["contact.followup_lost_per_month"]))
    if not rows:
        return None
    return sa.values(sa.column("portfolio_id", sa.Integer), sa.column("week_min", sa.Integer),
                     sa.column("month_min", sa.Integer), name="followup_minimums").data(rows)


def followup_report(session: Session, *, now: datetime | None = None, portfolio_id: int | None = None,
                    contact_status: ContactStatus | None = None, page: int = 1,
                    page_size: int = 100) -> tuple[list[dict], int]:
    """One page of the cases below their minimum cadence (reachable: per week; semi_lost and lost: per
    month), worst first, and how many there are.

    A case younger than its window is not yet behind.
    """
    now = now or utcnow()
    minimums = _thresholds(session, portfolio_id)
    if minimums is None:
        return [], 0
    a = ContactAttempt
    counts = (sa.select(a.case_id, sa.func.count().filter(a.started_at > now - WEEK).label("week"),
                        sa.func.count().label("month"), sa.func.max(a.started_at).label("last_attempt_at"))
              .where(a.started_at > now - MONTH, a.started_at <= now).group_by(a.case_id).subquery())
    reachable = Case.contact_status == ContactStatus.REACHABLE
    required = sa.case((reachable, minimums.c.week_min), else_=minimums.c.month_min)
    done = sa.case((reachable, sa.func.coalesce(counts.c.week, 0)), else_=sa.func.coalesce(counts.c.month, 0))
    window_days = sa.case((reachable, WEEK.days), else_=MONTH.days)
    query = (sa.select(Case.id.label("case_id"), Case.external_ref, Case.debtor_name, Case.portfolio_id,
                       Case.contact_status, required.label("required"), done.label("contacts_in_window"),
                       window_days.label("window_days"), (required - done).label("shortfall"),
                       counts.c.last_attempt_at)
             .join(minimums, minimums.c.portfolio_id == Case.portfolio_id)
             .outerjoin(counts, counts.c.case_id == Case.id)
             .where(done < required,
                    Case.created_at <= now - sa.case((reachable, WEEK), else_=MONTH)))
    if contact_status is not None:
        query = query.where(Case.contact_status == contact_status)
    rows, total = paginate(session, query.order_by((required - done).desc(), Case.id), page, page_size,
                           scalars=False)
    return [dict(row._mapping) for row in rows], total


def flagged_attempts(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                     portfolio_id: int | None = None, page: int = 1,
                     page_size: int = 100) -> tuple[list[tuple[ContactAttempt, Case]], int]:
    """One page of late entries and attempts that broke a rule (e.g. a visit at night), newest first, each
    with its case, and how many there are."""
    a = ContactAttempt
    query = (sa.select(a, Case).join(Case, Case.id == a.case_id)
             .where(sa.or_(a.late_entry, a.violations != sa.text("'[]'::jsonb"))))
    if since is not None:
        query = query.where(a.recorded_at >= since)
    if until is not None:
        query = query.where(a.recorded_at < until)
    if portfolio_id is not None:
        query = query.where(Case.portfolio_id == portfolio_id)
    rows, total = paginate(session, query.order_by(a.recorded_at.desc(), a.id.desc()), page, page_size,
                           scalars=False)
    return [(attempt, case) for attempt, case in rows], total
