"""Promise-to-pay reminders: SMS to the debtor only, in lawful hours, never to do-not-contact, counted."""
from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from backend.contacts.attempts import set_do_not_contact
from backend.contacts.models import ContactAttempt
from backend.contacts.promises import record_promise
from backend.contacts.reminders import send_promise_reminders
from backend.notify.jobs import deliver_due
from backend.notify.models import Notification

# Wednesday 2026-06-10, 23:00 in Chengdu (UTC+8): the promise is made late at night for Thursday.
WED_2300 = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
THU_0759 = datetime(2026, 6, 10, 23, 59, tzinfo=UTC)
THU_0800 = datetime(2026, 6, 11, 0, 0, tzinfo=UTC)


def _promise(session, case):
    return record_promise(session, case_id=case.id, amount="1200.00", due_date=date(2026, 6, 11), source="manual",
                          promised_at=WED_2300)


def _reminders(session, promise_id):
    return session.scalars(sa.select(Notification).where(Notification.promise_id == promise_id)).all()


def test_reminder_is_held_until_0800_debtor_time_then_sent_to_the_debtor(session, webhook, create_case,
                                                                       create_portfolio):
    portfolio = create_portfolio(creditor="招商示例银行")
    case = create_case(portfolio=portfolio, phones=("+8613812345678",),
                       contacts=[{"name": "李四", "relationship": "friend", "phone_e164": "+8613900001111"}])
    promise = _promise(session, case)
    assert send_promise_reminders(session, now=WED_2300)["held_quiet_hours"] == 1
    assert send_promise_reminders(session, now=THU_0759)["held_quiet_hours"] == 1
    assert _reminders(session, promise.id) == []
    assert send_promise_reminders(session, now=THU_0800)["queued"] == 1
    assert send_promise_reminders(session, now=THU_0800)["queued"] == 0  # once
    [row] = _reminders(session, promise.id)
    assert (row.to_phone, row.channel.value, row.user_id) == ("+8613812345678", "sms", None)
    assert "招商示例银行" in row.text and "2026-06-11" in row.text
    assert "1200" not in row.text and "5000" not in row.text
    attempt = session.scalars(sa.select(ContactAttempt).where(ContactAttempt.case_id == case.id)).one()
    assert (attempt.channel.value, attempt.contact_id, attempt.source) == ("sms", None, "reminder")
    deliver_due(now=THU_0800)
    assert [m["to"]["phone"] for m in webhook.delivered] == ["+8613812345678"]


def test_no_reminder_to_a_do_not_contact_debtor(session, webhook, create_case):
    case = create_case(phones=("+8613812345679",))
    promise = _promise(session, case)
    set_do_not_contact(session, case=case, contact=None, active=True, actor_id=None, at=WED_2300,
                       reason="asked by phone")
    assert send_promise_reminders(session, now=THU_0800)["refused"] == 1
    assert _reminders(session, promise.id) == []
    assert session.scalars(sa.select(ContactAttempt).where(ContactAttempt.case_id == case.id)).all() == []


def test_english_template_for_a_us_portfolio(session, create_case, create_portfolio):
    portfolio = create_portfolio(creditor="Acme Card", profile="us_fdcpa")
    case = create_case(portfolio=portfolio, phones=("+14155550123",))
    case.timezone = "Asia/Shanghai"
    promise = _promise(session, case)
    send_promise_reminders(session, now=THU_0800)
    [row] = _reminders(session, promise.id)
    assert row.text.startswith("Acme Card: Dear ") and "2026-06-11" in row.text


def test_promises_already_reminded_never_crowd_out_those_still_owed_one(session, create_case):
    """The sweep takes a limited batch: a promise reminded the day before leaves the window until its
    due day, so the next promise in line gets its reminder on the next run."""
    thu_1000 = datetime(2026, 6, 11, 2, 0, tzinfo=UTC)
    first, second = (record_promise(session, case_id=create_case(phones=(f"+861381234567{n}",)).id,
                                    amount="800.00", due_date=date(2026, 6, 12), source="manual",
                                    promised_at=WED_2300) for n in (1, 2))
    assert send_promise_reminders(session, now=thu_1000, limit=1)["queued"] == 1
    assert send_promise_reminders(session, now=thu_1000, limit=1)["queued"] == 1
    assert [len(_reminders(session, p.id)) for p in (first, second)] == [1, 1]
