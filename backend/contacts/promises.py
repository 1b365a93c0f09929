"""Promises to pay and payments: reminders one working day before, kept / partial / broken at the due date."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import Case
from backend.contacts.models import CasePayment, Promise, PromiseStatus
from backend.errors import DomainError, InvalidInput, NotFound
from backend.pagination import paginate
from backend.policy.calendar import working_days_before
from backend.policy.hours import REMINDER, next_lawful_time, quiet_bounds
from backend.policy.service import get_policy
from backend.timeutil import local_time, utcnow
from backend.visits.models import VisitKind
from backend.visits.requests import request_visit

log = logging.getLogger(__name__)
MAX_AMOUNT = Decimal(10) ** 12  # the Numeric(14, 2) columns' range


def parse_amount(value, field: str = "amount") -> Decimal:
    """Return a positive money amount with at most 2 decimals, or raise naming the field."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise InvalidInput(field, "not a decimal amount") from exc
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(field, "must be a positive amount")
    if amount.as_tuple().exponent < -2 or amount >= MAX_AMOUNT:
        raise InvalidInput(field, "at most 2 decimal places and below 10^12")
    return amount


def parse_date(value, field: str) -> date:
    """Return a date from a date or an ISO string, or raise naming the field."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(field, "not an ISO date (YYYY-MM-DD)") from exc


def reminder_moment(day: date, tz_name: str, policy: Mapping) -> datetime:
    """The moment of a local day at which a promise reminder goes, for the reminder before and the due day's
    alike: the first the quiet hours policy/hours decides for a REMINDER allow (not a call's), and never before
    the quiet hours' end. Where a policy lets SMS go at night (notify.reminders_in_lawful_hours off) that
    makes a reminder lawful at midnight, but nobody should be woken by one (DESIGN: no night contact)."""
    morning = datetime.combine(day, quiet_bounds(policy)[1], ZoneInfo(tz_name))
    return next_lawful_time(morning, tz_name, policy, REMINDER)


def reminder_time(due_date: date, tz_name: str, policy: Mapping) -> datetime:
    """When to remind first: the configured working days before the due date, at that day's reminder_moment."""
    day = working_days_before(due_date, policy["contact.promise_reminder_working_days"], policy)
    return reminder_moment(day, tz_name, policy)


def record_promise(session: Session, *, case_id: int, amount, due_date, source: str, contact_id: int | None = None,
                   promised_at: datetime | None = None, attempt_id: int | None = None, visit_id: int | None = None,
                   visit_outcome_id: int | None = None, notes: str = "", actor_id: int | None = None,
                   field_prefix: str = "", strict_due: bool = True) -> Promise:
    """Record a promise to pay by a local due date (today or later; strict_due=False for what already happened)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    amount = parse_amount(amount, f"{field_prefix}amount")
    due_date = parse_date(due_date, f"{field_prefix}due_date")
    promised_at = promised_at or utcnow()
    if strict_due and due_date < local_time(promised_at, case.timezone).date():
        raise InvalidInput(f"{field_prefix}due_date", "is before the day the promise was made")
    policy = get_policy(session, case.portfolio_id)
    promise = Promise(case_id=case.id, contact_id=contact_id, amount=amount, currency=case.currency,
                      due_date=due_date, promised_at=promised_at, source=source, status=PromiseStatus.OPEN,
                      reminder_due_at=reminder_time(due_date, case.timezone, policy), paid_amount=Decimal("0"),
                      notes=notes or "", attempt_id=attempt_id, visit_id=visit_id,
                      visit_outcome_id=visit_outcome_id, created_by_id=actor_id, created_at=utcnow())
    session.add(promise)
    session.flush()
    return promise


def record_payment(session: Session, *, case_id: int, amount, paid_at: datetime | None = None,
                   receipt_no: str | None = None, source: str = "manual", visit_id: int | None = None,
                   visit_outcome_id: int | None = None, actor_id: int | None = None,
                   field_prefix: str = "", now: datetime | None = None) -> CasePayment:
    """Record money received on a case; promises it completes are marked kept at once."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    amount = parse_amount(amount, f"{field_prefix}amount")
    if receipt_no and session.scalar(sa.select(CasePayment.id).where(
            CasePayment.case_id == case.id, CasePayment.receipt_no == receipt_no)):
        raise DomainError("duplicate_receipt", f"receipt {receipt_no} is already recorded on this case",
                          fields={f"{field_prefix}receipt_no": "already recorded"})
    payment = CasePayment(case_id=case.id, amount=amount, currency=case.currency, paid_at=paid_at or utcnow(),
                          receipt_no=receipt_no or None, source=source, visit_id=visit_id,
                          visit_outcome_id=visit_outcome_id, recorded_by_id=actor_id, created_at=utcnow())
    session.add(payment)
    session.flush()
    settle_promises(session, case_id=case.id, now=now)
    return payment


def _paid_toward(promise: Promise, due_end):
    """Payments on the promise's case from when it was made until its due date ends (a SQL expression)."""
    return (sa.select(sa.func.coalesce(sa.func.sum(CasePayment.amount), 0))
            .where(CasePayment.case_id == promise.case_id, CasePayment.paid_at >= promise.promised_at,
                   CasePayment.paid_at < due_end).scalar_subquery())


def settle_promises(session: Session, *, now: datetime | None = None, case_id: int | None = None) -> dict:
    """Mark open promises kept once paid in full; at the end of the due date, partial or broken.

    A broken promise raises a broken-promise visit request (once per promise).
    """
    now = now or utcnow()
    # End of the due date in the debtor's timezone, computed by PostgreSQL from the IANA name.
    due_end = sa.func.timezone(Case.timezone, sa.cast(Promise.due_date + 1, sa.DateTime))
    query = (sa.select(Promise, due_end.label("due_end"), _paid_toward(Promise, due_end).label("paid"))
             .join(Case, Case.id == Promise.case_id).where(Promise.status == PromiseStatus.OPEN)
             .order_by(Promise.id).with_for_update(of=Promise, skip_locked=True))
    if case_id is not None:
        query = query.where(Promise.case_id == case_id)
    counts = {"kept": 0, "partial": 0, "broken": 0, "visits": []}
    for promise, ends_at, paid in session.execute(query).all():
        promise.paid_amount = paid
        if paid >= promise.amount:
            _resolve(promise, PromiseStatus.KEPT, now, counts)
        elif ends_at <= now:
            _resolve(promise, PromiseStatus.PARTIAL if paid > 0 else PromiseStatus.BROKEN, now, counts)
            if promise.status == PromiseStatus.BROKEN:
                visit = _broken_promise_visit(session, promise, now)
                if visit is not None:
                    counts["visits"].append(visit.id)
    session.flush()
    return counts


def _resolve(promise: Promise, status: PromiseStatus, now: datetime, counts: dict) -> None:
    promise.status = status
    promise.resolved_at = now
    counts[status.value] += 1


def _broken_promise_visit(session: Session, promise: Promise, now: datetime):
    try:
        with session.begin_nested():
            return request_visit(session, case_id=promise.case_id, kind=VisitKind.BROKEN_PROMISE,
                                 reason=f"promise {promise.id} of {promise.amount} {promise.currency} due "
                                        f"{promise.due_date.isoformat()} was broken",
                                 source="trigger.broken_promise", dedupe_key=f"trigger.broken_promise:{promise.id}",
                                 now=now)
    except DomainError as exc:  # e.g. a case without an address: the promise is still marked broken
        log.warning("broken promise %s: no visit raised (%s)", promise.id, exc.message)
        return None


def due_reminders(session: Session, *, now: datetime | None = None, page: int = 1,
                  page_size: int = 100) -> tuple[list[Promise], int]:
    """One page of the open promises whose reminder is due now (and whose due date has not passed), and
    how many there are."""
    now = now or utcnow()
    return paginate(session, sa.select(Promise).join(Case, Case.id == Promise.case_id)
                    .where(Promise.status == PromiseStatus.OPEN, Promise.reminder_due_at <= now,
                           sa.func.timezone(Case.timezone, sa.cast(Promise.due_date + 1, sa.DateTime)) > now)
                    .order_by(Promise.reminder_due_at, Promise.id), page, page_size)


def list_promises(session: Session, case_id: int, *, page: int = 1, page_size: int = 100) -> tuple[list[Promise], int]:
    """One page of a case's promises, newest first, and how many it has."""
    return paginate(session, sa.select(Promise).where(Promise.case_id == case_id)
                    .order_by(Promise.promised_at.desc(), Promise.id.desc()), page, page_size)


def list_payments(session: Session, case_id: int, *, page: int = 1,
                  page_size: int = 100) -> tuple[list[CasePayment], int]:
    """One page of a case's payments, newest first, and how many it has."""
    return paginate(session, sa.select(CasePayment).where(CasePayment.case_id == case_id)
                    .order_by(CasePayment.paid_at.desc(), CasePayment.id.desc()), page, page_size)
