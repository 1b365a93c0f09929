"""Promise-to-pay reminders: SMS to the debtor only, in lawful hours, never to do-not-contact, counted."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from backend.auth.models import Role
from backend.contacts import reminders, rules
from backend.contacts.attempts import log_attempt, set_do_not_contact
from backend.contacts.models import ContactAttempt
from backend.contacts.promises import record_promise
from backend.contacts.reminders import send_promise_reminders
from backend.notify.jobs import deliver_due
from backend.notify.models import Notification
from backend.policy.defaults import DEFAULTS

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
    assert [row.status.value for row in _reminders(session, promise.id)] == ["refused"]  # kept for review only
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


def test_a_promise_is_reminded_the_working_day_before_and_again_on_its_due_day(session, create_case):
    """Two reminders: the working day before (Wednesday for Thursday) and the due day itself, each once and
    from the debtor's first lawful moment (08:00 in Chengdu)."""
    tue_1000 = datetime(2026, 6, 9, 2, 0, tzinfo=UTC)
    wed_0800, wed_1800 = datetime(2026, 6, 10, 0, 0, tzinfo=UTC), datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    case = create_case(phones=("+8613812345680",))
    promise = record_promise(session, case_id=case.id, amount="600.00", due_date=date(2026, 6, 11), source="manual",
                             promised_at=tue_1000)
    assert send_promise_reminders(session, now=tue_1000)["queued"] == 0
    assert send_promise_reminders(session, now=wed_0800)["queued"] == 1
    for moment in (wed_1800, THU_0759):  # the day before is served; the due day's has not come yet
        assert send_promise_reminders(session, now=moment) == {"queued": 0, "held_quiet_hours": 0, "refused": 0,
                                                               "no_number": 0}
    assert send_promise_reminders(session, now=THU_0800)["queued"] == 1
    assert send_promise_reminders(session, now=THU_0800)["queued"] == 0
    rows = sorted(_reminders(session, promise.id), key=lambda row: row.id)
    assert [(row.dedupe_key, row.not_before, row.to_phone) for row in rows] == [
        (f"promise:{promise.id}:before", wed_0800, "+8613812345680"),
        (f"promise:{promise.id}:due", THU_0800, "+8613812345680")]
    attempts = session.scalars(sa.select(ContactAttempt).where(ContactAttempt.case_id == case.id)
                               .order_by(ContactAttempt.started_at)).all()
    assert [(a.started_at, a.source) for a in attempts] == [(wed_0800, "reminder"), (THU_0800, "reminder")]


def test_a_reminder_past_the_debtors_contact_cap_is_refused_not_sent(session, webhook, create_case, caplog,
                                                                    monkeypatch):
    """cn_default caps answered calls and SMS with the debtor at 3 a day: after three conversations today the
    reminder SMS is refused (counted and logged with the rule), nothing is queued and no attempt is logged."""
    monkeypatch.setattr(reminders.log, "disabled", False)  # alembic's fileConfig silenced it when the DB was built
    case = create_case(phones=("+8613812345681",))
    promise = _promise(session, case)
    cap = DEFAULTS["contact.debtor_answered_calls_per_day"]
    for n in range(cap):
        log_attempt(session, case_id=case.id, party="debtor", channel="call", result="answered",
                    started_at=THU_0800 + timedelta(minutes=10 * n), now=THU_0800 + timedelta(minutes=10 * n))
    later = THU_0800 + timedelta(hours=2)
    with caplog.at_level(logging.INFO, logger="backend.contacts.reminders"):
        assert send_promise_reminders(session, now=later) == {"queued": 0, "held_quiet_hours": 0, "refused": 1,
                                                              "no_number": 0}
    assert f"promise {promise.id} reminder not sent: debtor_call_cap" in caplog.text
    assert [row.status.value for row in _reminders(session, promise.id)] == ["refused"]  # kept for review only
    logged = session.scalars(sa.select(ContactAttempt).where(ContactAttempt.case_id == case.id)).all()
    assert len(logged) == cap and all(a.source != "reminder" for a in logged)
    deliver_due(now=later)
    assert webhook.delivered == []


def test_a_reminder_is_checked_against_the_contact_rules_once(session, create_case, monkeypatch):
    """One check per reminder, the one log_attempt makes under the debtor's lock: sent or refused, the
    counters behind the caps are read once (they used to be read twice, the first time unlocked)."""
    reads = []
    real = rules.count_attempts

    def counted(*args, **kwargs):
        reads.append(kwargs["case_id"])
        return real(*args, **kwargs)

    sent, capped = create_case(phones=("+8613812345682",)), create_case(phones=("+8613812345683",))
    for case in (sent, capped):
        _promise(session, case)
    for n in range(DEFAULTS["contact.debtor_answered_calls_per_day"]):
        log_attempt(session, case_id=capped.id, party="debtor", channel="call", result="answered",
                    started_at=THU_0800 + timedelta(minutes=10 * n), now=THU_0800 + timedelta(minutes=10 * n))
    monkeypatch.setattr(rules, "count_attempts", counted)
    counts = send_promise_reminders(session, now=THU_0800 + timedelta(hours=2))
    assert (counts["queued"], counts["refused"]) == (1, 1)
    assert sorted(reads) == sorted([sent.id, capped.id])


@pytest.mark.parametrize(("overrides", "hour"), [
    # Ordinary SMS are out of cn_default's quiet hours, and so is the reminder with the flag off: lawful at
    # midnight, yet still sent when the quiet hours end (it used to go at 00:00; nobody is woken by one).
    ({"notify.reminders_in_lawful_hours": False}, 8),
    # Calls out of the quiet hours, the reminder SMS kept in them by the flag: 08:00, not midnight.
    ({"contact.quiet_hours_channels": ["visit"]}, 8),
])
def test_the_reminder_the_day_before_keeps_a_reminders_hours_not_a_calls(session, create_case, create_portfolio,
                                                                          overrides, hour):
    """Both reminders are timed as policy/hours decides for a REMINDER; the day before's was timed as a call's,
    so under a policy where the two differ it went at the wrong moment (or was listed due too early)."""
    tue_1000 = datetime(2026, 6, 9, 2, 0, tzinfo=UTC)
    case = create_case(portfolio=create_portfolio(overrides=overrides), phones=("+8613812345684",))
    promise = record_promise(session, case_id=case.id, amount="600.00", due_date=date(2026, 6, 11), source="manual",
                             promised_at=tue_1000)
    wednesday = datetime(2026, 6, 10, hour, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert promise.reminder_due_at == wednesday
    assert send_promise_reminders(session, now=wednesday - timedelta(minutes=1))["queued"] == 0
    assert send_promise_reminders(session, now=wednesday)["queued"] == 1
    [row] = _reminders(session, promise.id)
    assert (row.dedupe_key, row.not_before) == (f"promise:{promise.id}:before", wednesday)
    thursday = datetime(2026, 6, 11, hour, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # the due day's, the same way
    assert send_promise_reminders(session, now=thursday - timedelta(minutes=1))["queued"] == 0
    assert send_promise_reminders(session, now=thursday)["queued"] == 1


def test_a_refused_reminder_is_kept_once_for_review_with_the_rules_reason(session, webhook, client, as_role,
                                                                          create_case):
    """A reminder the contact rules refuse is a `refused` outbox row (the rule's code and message), listed at
    GET /notifications for the supervisors; the next sweeps add no second one and nothing is ever sent."""
    case = create_case(phones=("+8613812345685",))
    promise = _promise(session, case)
    set_do_not_contact(session, case=case, contact=None, active=True, actor_id=None, at=WED_2300,
                       reason="asked by phone")
    for minutes in (0, 5, 60):
        assert send_promise_reminders(session, now=THU_0800 + timedelta(minutes=minutes))["refused"] == 1
    [row] = _reminders(session, promise.id)
    assert (row.status.value, row.dedupe_key, row.to_phone, row.channel.value, row.attempts) == (
        "refused", f"promise:{promise.id}:due:refused", "+8613812345685", "sms", 0)
    assert row.last_error.startswith("do_not_contact: ") and (row.created_at, row.finished_at) == (THU_0800, THU_0800)
    assert "1200" not in row.text
    deliver_due(now=THU_0800 + timedelta(hours=1))
    assert webhook.delivered == []
    assert session.get(Notification, row.id).status.value == "refused"
    _, headers = as_role(Role.SUPERVISOR)
    page = client.get(f"/api/v1/notifications?promise_id={promise.id}&status=refused", headers=headers).json
    assert [(item["id"], item["status"], item["last_error"]) for item in page["items"]] == [
        (row.id, "refused", row.last_error)]


def test_a_refused_reminder_still_goes_once_the_rules_allow_it(session, create_case):
    """The refusal is recorded, it does not stand for the reminder: once a supervisor lifts the debtor's
    do-not-contact request, the next sweep sends it under its own key (the record stays: it went late)."""
    case = create_case(phones=("+8613812345686",))
    promise = _promise(session, case)
    set_do_not_contact(session, case=case, contact=None, active=True, actor_id=None, at=WED_2300, reason="asked")
    assert send_promise_reminders(session, now=THU_0800)["refused"] == 1
    set_do_not_contact(session, case=case, contact=None, active=False, actor_id=None,
                       at=THU_0800 + timedelta(minutes=30), reason="asked for the reminders again")
    assert send_promise_reminders(session, now=THU_0800 + timedelta(hours=1))["queued"] == 1
    rows = sorted(_reminders(session, promise.id), key=lambda row: row.id)
    assert [(row.dedupe_key, row.status.value) for row in rows] == [
        (f"promise:{promise.id}:due:refused", "refused"), (f"promise:{promise.id}:due", "queued")]
