"""Promises to pay: reminder one working day before, kept / partial / broken, broken raises a visit."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from backend.contacts.models import PromiseStatus
from backend.contacts.promises import due_reminders, record_payment, record_promise, settle_promises
from backend.policy.hours import working_days_before
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitKind
from tests.contacts.conftest import at


def next_weekday(weekday: int) -> date:
    """The next date (after tomorrow) falling on an ISO weekday."""
    day = utcnow().date() + timedelta(days=2)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


def test_working_days_skip_the_weekend():
    assert working_days_before(date(2026, 11, 30), 1, [1, 2, 3, 4, 5]) == date(2026, 11, 27)  # Mon -> Fri
    assert working_days_before(date(2026, 11, 25), 1, [1, 2, 3, 4, 5]) == date(2026, 11, 24)  # Wed -> Tue
    assert working_days_before(date(2026, 11, 30), 2, [1, 2, 3, 4, 5]) == date(2026, 11, 26)


def test_promise_is_reminded_one_working_day_before_when_lawful_hours_begin(debtor_case, client, dispatcher):
    case = debtor_case()
    monday = next_weekday(1)
    response = client.post(f"/api/v1/cases/{case.id}/promises", headers=dispatcher[1],
                           json={"amount": "1500.00", "due_date": monday.isoformat(), "source": "call"})
    assert response.status_code == 201
    assert (response.json["status"], response.json["amount"], response.json["currency"]) == ("open", "1500.00", "CNY")
    friday = monday - timedelta(days=3)
    # 08:00 in Shanghai on the Friday before is midnight UTC.
    expected = datetime(friday.year, friday.month, friday.day, tzinfo=UTC)
    assert datetime.fromisoformat(response.json["reminder_due_at"]) == expected


def test_due_reminders_are_listed_from_their_time(debtor_case, session, client, dispatcher):
    case = debtor_case()
    promise = record_promise(session, case_id=case.id, amount="300", due_date=next_weekday(3), source="call")
    before, _ = due_reminders(session, now=promise.reminder_due_at - timedelta(seconds=1))
    after, total = due_reminders(session, now=promise.reminder_due_at)
    assert promise not in before and after == [promise] and total == 1
    listed = client.get("/api/v1/promises/reminders-due", headers=dispatcher[1])
    assert listed.status_code == 200


def test_promise_due_in_the_past_is_refused(debtor_case, client, dispatcher):
    case = debtor_case()
    response = client.post(f"/api/v1/cases/{case.id}/promises", headers=dispatcher[1],
                           json={"amount": "100", "due_date": "2020-01-01"})
    assert response.status_code == 422 and "due_date" in response.json["error"]["fields"]


def promise_on(session, case, amount="1000.00"):
    return record_promise(session, case_id=case.id, amount=amount, due_date=date(2026, 11, 12), source="call",
                          promised_at=at("10:00", "2026-11-09"))


def test_payment_in_full_keeps_the_promise_at_once(debtor_case, session, client, dispatcher):
    case = debtor_case()
    promise = promise_on(session, case)
    response = client.post(f"/api/v1/cases/{case.id}/payments", headers=dispatcher[1],
                           json={"amount": "1000.00", "paid_at": at("15:00", "2026-11-11").isoformat(),
                                 "receipt_no": "R-100"})
    assert response.status_code == 201
    session.refresh(promise)
    assert (promise.status, promise.paid_amount) == (PromiseStatus.KEPT, Decimal("1000.00"))
    again = client.post(f"/api/v1/cases/{case.id}/payments", headers=dispatcher[1],
                        json={"amount": "5.00", "receipt_no": "R-100"})
    assert again.status_code == 409 and again.json["error"]["code"] == "duplicate_receipt"


def test_part_paid_promise_becomes_partial_at_the_end_of_the_due_date(debtor_case, session):
    case = debtor_case()
    promise = promise_on(session, case)
    record_payment(session, case_id=case.id, amount="400", paid_at=at("12:00", "2026-11-10"),
                   now=at("12:01", "2026-11-10"))
    settle_promises(session, now=at("23:59", "2026-11-12"))
    assert promise.status == PromiseStatus.OPEN
    settle_promises(session, now=at("00:00", "2026-11-13"))
    assert (promise.status, promise.paid_amount) == (PromiseStatus.PARTIAL, Decimal("400.00"))
    assert session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 0


def test_broken_promise_raises_one_broken_promise_visit(debtor_case, session, client, supervisor):
    case = debtor_case()
    promise = promise_on(session, case)
    record_payment(session, case_id=case.id, amount="999", paid_at=at("12:00", "2026-11-01"),  # before the promise
                   now=at("12:01", "2026-11-10"))
    counts = settle_promises(session, now=at("09:00", "2026-11-13"))
    assert promise.status == PromiseStatus.BROKEN and counts["broken"] == 1
    [visit] = session.scalars(sa.select(Visit).where(Visit.case_id == case.id)).all()
    assert (visit.kind, visit.dedupe_key) == (VisitKind.BROKEN_PROMISE, f"trigger.broken_promise:{promise.id}")
    settle_promises(session, now=at("09:00", "2026-11-14"))
    assert session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1
    listed = client.get(f"/api/v1/cases/{case.id}/promises", headers=supervisor[1]).json
    assert [p["status"] for p in listed["items"]] == ["broken"]
