"""Sweeps that raise the visit requests the contact log calls for (DESIGN.md "Visit triggers").

- lost for visits.trigger_lost_days+ and visits.trigger_days_past_due+ days past due -> locate visit;
- contact.ignored_reminders_for_visit+ unanswered reminders to the debtor since last reached -> confirm visit.
Each request carries a dedupe_key naming the episode, so a sweep run twice raises it once.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from backend.cases.models import Case, ContactStatus
from backend.contacts.models import AttemptResult, Channel, ContactAttempt
from backend.contacts.status import sweep_contact_statuses
from backend.errors import DomainError
from backend.policy.service import get_policy
from backend.timeutil import utcnow
from backend.visits.models import OPEN_STATUSES, Visit, VisitKind
from backend.visits.requests import request_visit

log = logging.getLogger(__name__)


class _Policies:
    """Portfolio policies, looked up once per sweep."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, Mapping] = {}

    def __call__(self, portfolio_id: int) -> Mapping:
        if portfolio_id not in self.cache:
            self.cache[portfolio_id] = get_policy(self.session, portfolio_id)
        return self.cache[portfolio_id]


def _has_open_visit(session: Session, case_id: int, kind: VisitKind) -> bool:
    return session.scalar(sa.select(Visit.id).where(
        Visit.case_id == case_id, Visit.kind == kind, Visit.status.in_(OPEN_STATUSES)).limit(1)) is not None


def _raise(session: Session, *, case_id: int, kind: VisitKind, source: str, dedupe_key: str, reason: str,
           now: datetime) -> Visit | None:
    """Raise one visit request unless one of its kind is already open; skip (and log) a case it cannot."""
    if session.scalar(sa.select(Visit.id).where(Visit.dedupe_key == dedupe_key)) or \
            _has_open_visit(session, case_id, kind):
        return None
    try:
        with session.begin_nested():
            return request_visit(session, case_id=case_id, kind=kind, reason=reason, source=source,
                                 dedupe_key=dedupe_key, now=now)
    except DomainError as exc:  # e.g. no address to visit: other cases still get theirs
        log.warning("case %s: %s visit not raised (%s)", case_id, kind.value, exc.message)
        return None


def raise_locate_visits(session: Session, *, now: datetime | None = None) -> list[int]:
    """Locate visits for cases lost long enough and far enough past due."""
    now = now or utcnow()
    policies = _Policies(session)
    raised = []
    lost = session.execute(sa.select(Case.id, Case.portfolio_id, Case.status_changed_at, Case.days_past_due)
                           .where(Case.contact_status == ContactStatus.LOST).order_by(Case.id))
    for case_id, portfolio_id, lost_since, days_past_due in lost.all():
        policy = policies(portfolio_id)
        if lost_since > now - timedelta(days=policy["visits.trigger_lost_days"]):
            continue
        if days_past_due < policy["visits.trigger_days_past_due"]:
            continue
        visit = _raise(session, case_id=case_id, kind=VisitKind.LOCATE, source="trigger.lost",
                       dedupe_key=f"trigger.lost:{case_id}:{lost_since:%Y%m%dT%H%M%S}", now=now,
                       reason=f"lost since {lost_since:%Y-%m-%d}, {days_past_due} days past due")
        if visit is not None:
            raised.append(visit.id)
    return raised


def ignored_reminder_streaks(now: datetime):
    """Per case: unanswered debtor attempts by channel since the debtor was last reached, and when they began."""
    a, b = ContactAttempt, aliased(ContactAttempt)
    last_reach = (sa.select(b.case_id, sa.func.max(b.started_at).label("reached_at"))
                  .where(b.contact_id.is_(None), b.reached.is_(True), b.started_at <= now)
                  .group_by(b.case_id).subquery())
    per_channel = [sa.func.count().filter(a.channel == channel).label(channel.value) for channel in Channel]
    return (sa.select(a.case_id, Case.portfolio_id, sa.func.min(a.started_at).label("since"), *per_channel)
            .join(Case, Case.id == a.case_id)
            .outerjoin(last_reach, last_reach.c.case_id == a.case_id)
            .where(a.contact_id.is_(None), a.result == AttemptResult.NO_ANSWER, a.started_at <= now,
                   sa.or_(last_reach.c.reached_at.is_(None), a.started_at > last_reach.c.reached_at))
            .group_by(a.case_id, Case.portfolio_id))


def raise_confirm_visits(session: Session, *, now: datetime | None = None) -> list[int]:
    """Confirm visits for debtors who ignored enough reminders (calls, messages, letters)."""
    now = now or utcnow()
    policies = _Policies(session)
    raised = []
    for row in session.execute(ignored_reminder_streaks(now)).all():
        policy = policies(row.portfolio_id)
        ignored = sum(getattr(row, channel) for channel in policy["contact.reminder_channels"]
                      if channel in Channel._value2member_map_)
        if ignored < policy["contact.ignored_reminders_for_visit"]:
            continue
        visit = _raise(session, case_id=row.case_id, kind=VisitKind.CONFIRM, source="trigger.reminders",
                       dedupe_key=f"trigger.reminders:{row.case_id}:{row.since:%Y%m%dT%H%M%S}", now=now,
                       reason=f"{ignored} reminders ignored since {row.since:%Y-%m-%d}")
        if visit is not None:
            raised.append(visit.id)
    return raised


def run_contact_triggers(session: Session, *, now: datetime | None = None) -> dict:
    """Recompute time-driven statuses, then raise locate and confirm visits."""
    now = now or utcnow()
    changed = sweep_contact_statuses(session, now=now)
    return {"status_changes": changed, "locate_visits": raise_locate_visits(session, now=now),
            "confirm_visits": raise_confirm_visits(session, now=now)}
