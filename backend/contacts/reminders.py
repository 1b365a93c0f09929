"""Promise-to-pay reminders sent to the debtor by SMS (through backend/notify's outbox).

Two per promise: one working day before the due date (`promise.reminder_due_at`) and on the due
day, each at that day's `promises.reminder_moment` (never before the quiet hours end). The reminder is a contact attempt like
any other: it is logged (channel sms), so caps apply and it counts as a reminder if ignored, and it
goes out only when the contact rules allow it now (`log_attempt`'s one check, under the debtor's
lock): never to a do-not-contact debtor, never past a cap (tried again on a later sweep while the
due date has not passed). A refused reminder stays in the outbox as a `refused` row with the rules'
reasons (once per reminder: key `promise:<id>:<kind>:refused`), for a supervisor to review at
GET /notifications; it is never sent. It is never sent in the quiet hours
of the debtor's timezone as policy/hours decides them for a REMINDER (under
`notify.reminders_in_lawful_hours` even where ordinary SMS ignore them): held until they end, the
sweep sends it then. Only the debtor's own numbers are used and the text names the creditor and the
date, never the amount, so a phone read by someone else discloses no debt.
"""
from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from backend.cases.models import Case
from backend.contacts.attempts import AttemptRefused, log_attempt
from backend.contacts.models import AttemptResult, Channel, Promise, PromiseStatus
from backend.contacts.promises import reminder_moment
from backend.notify.models import Notification
from backend.notify.service import Outgoing, enqueue, record_refused
from backend.policy.hours import REMINDER, next_lawful_time
from backend.policy.service import get_policy
from backend.timeutil import local_time, utcnow

log = logging.getLogger(__name__)
KINDS = ("before", "due")


def reminder_kind(promise: Promise, case: Case, policy, now: datetime) -> str | None:
    """Which reminder is due now: the due-day one once its moment came, else the one before, else none."""
    local_today = local_time(now, case.timezone).date()
    if local_today > promise.due_date:
        return None
    if now >= reminder_moment(promise.due_date, case.timezone, policy):
        return "due"
    if now >= promise.reminder_due_at:
        return "before"
    return None


def debtor_mobile(case: Case) -> str | None:
    """The debtor's first mobile number (an SMS to a landline reaches nobody); never a contact's."""
    mobiles = [p for p in case.phones if p.kind == "mobile"]
    return mobiles[0].number_e164 if mobiles else None


def send_promise_reminders(session: Session, *, now: datetime | None = None, limit: int = 1000) -> dict:
    """Sweep: queue each due reminder SMS once (and log it as a contact attempt); the caller commits."""
    now = now or utcnow()
    def reminded(kind: str):
        return sa.exists().where(Notification.dedupe_key == sa.func.concat("promise:", Promise.id, f":{kind}"))

    # A promise reminded the day before waits for its due day out of the window, so the promises still
    # owed a reminder are never pushed past the limit by ones already served.
    before_due_day = sa.func.date(sa.func.timezone(Case.timezone, now)) < Promise.due_date
    promises = session.scalars(
        sa.select(Promise).join(Case, Case.id == Promise.case_id)
        .where(Promise.status == PromiseStatus.OPEN, Promise.reminder_due_at <= now,
               sa.func.timezone(Case.timezone, sa.cast(Promise.due_date + 1, sa.DateTime)) > now,
               ~reminded("due"), ~(reminded("before") & before_due_day))
        .options(selectinload(Promise.case).selectinload(Case.phones))
        .order_by(Promise.reminder_due_at, Promise.id).limit(limit)).all()
    counts = {"queued": 0, "held_quiet_hours": 0, "refused": 0, "no_number": 0}
    sent = set(session.scalars(sa.select(Notification.dedupe_key).where(Notification.dedupe_key.in_(
        [f"promise:{p.id}:{kind}" for p in promises for kind in KINDS]))))
    for promise in promises:
        case = promise.case
        policy = get_policy(session, case.portfolio_id)
        kind = reminder_kind(promise, case, policy, now)
        key = f"promise:{promise.id}:{kind}"
        if kind is None or key in sent:
            continue
        if next_lawful_time(now, case.timezone, policy, REMINDER) > now:
            counts["held_quiet_hours"] += 1  # a later sweep sends it when the quiet hours end
            continue
        number = debtor_mobile(case)
        if number is None:
            counts["no_number"] += 1
            continue
        try:  # the rules are checked once, under the debtor's lock, before anything is written
            attempt = log_attempt(session, case_id=case.id, party="debtor", channel=Channel.SMS, started_at=now,
                                  result=AttemptResult.NO_ANSWER, notes=f"promise reminder ({kind}) by SMS",
                                  source="reminder", now=now)
        except AttemptRefused as refused:
            counts["refused"] += 1
            violations = refused.check.violations
            log.info("promise %s reminder not sent: %s", promise.id, ", ".join(v.code for v in violations))
            # The supervisors' record: the reminder as it would have gone, `refused` with the rules' reasons,
            # once per reminder (a later sweep may still send it under its own key while the refusal lapses).
            record_refused(session, _reminder(promise, number, policy, f"{key}:refused"),
                           reason="; ".join(f"{v.code}: {v.message}" for v in violations), now=now)
            continue
        enqueue(session, _reminder(promise, number, policy, key, attempt_id=attempt.id), now=now)
        counts["queued"] += 1
    return counts


def _reminder(promise: Promise, number: str, policy, dedupe_key: str, **params) -> list[Outgoing]:
    """The reminder SMS to the debtor's number: the creditor, the debtor's name and the due date, never the amount."""
    case = promise.case
    return [Outgoing(channel="sms", template="promise_reminder", to_phone=number, promise_id=promise.id,
                     locale=policy["notify.debtor_locale"], dedupe_key=dedupe_key,
                     params={"creditor": case.portfolio.creditor, "debtor_name": case.debtor_name,
                             "due_date": promise.due_date.isoformat(), **params})]
