"""Sweeps raise the visits DESIGN.md's triggers call for, once per episode."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.cases.models import ContactStatus
from backend.contacts.jobs import raise_contact_triggers
from backend.contacts.triggers import run_contact_triggers
from backend.visits.models import Visit, VisitKind, VisitStatus
from tests.contacts.conftest import at


def visits(session, case, kind):
    return session.scalars(sa.select(Visit).where(Visit.case_id == case.id, Visit.kind == kind)).all()


def lost_case(debtor_case, since, days_past_due=30):
    case = debtor_case(status=ContactStatus.LOST, days_past_due=days_past_due)
    case.status_changed_at = since
    return case


def test_lost_three_days_and_twenty_past_due_raises_one_locate_visit(debtor_case, session):
    case = lost_case(debtor_case, at("10:00"))
    assert run_contact_triggers(session, now=at("09:59", "2026-11-13"))["locate_visits"] == []
    result = run_contact_triggers(session, now=at("10:00", "2026-11-13"))
    [visit] = visits(session, case, VisitKind.LOCATE)
    assert result["locate_visits"] == [visit.id]
    assert (visit.source, visit.dedupe_key) == ("trigger.lost", f"trigger.lost:{case.id}:20261110T020000")
    run_contact_triggers(session, now=at("10:00", "2026-11-14"))
    assert len(visits(session, case, VisitKind.LOCATE)) == 1


def test_not_enough_days_past_due_raises_nothing(debtor_case, session):
    case = lost_case(debtor_case, at("10:00"), days_past_due=19)
    run_contact_triggers(session, now=at("10:00", "2026-11-20"))
    assert visits(session, case, VisitKind.LOCATE) == []


def test_lost_by_the_sweep_itself_then_locate_visit(debtor_case, logged, session):
    case = debtor_case(days_past_due=45)
    logged(case, when=at("10:00"), now=at("10:01"))
    logged(case, when=at("11:00"), now=at("11:01"))
    first = run_contact_triggers(session, now=at("12:00", "2026-11-13"))
    assert first["status_changes"] == 1 and case.contact_status == ContactStatus.LOST
    assert first["locate_visits"] == []  # lost only since 10:00 today
    later = run_contact_triggers(session, now=at("10:00", "2026-11-16"))
    assert len(later["locate_visits"]) == 1


def test_three_ignored_reminders_raise_one_confirm_visit(debtor_case, logged, session):
    case = debtor_case()
    logged(case, when=at("09:00"), now=at("09:01"))
    logged(case, when=at("10:00"), channel="sms", now=at("10:01"))
    assert run_contact_triggers(session, now=at("12:00"))["confirm_visits"] == []
    logged(case, when=at("12:00"), channel="letter", now=at("12:01"))
    result = run_contact_triggers(session, now=at("13:00"))
    [visit] = visits(session, case, VisitKind.CONFIRM)
    assert result["confirm_visits"] == [visit.id] and visit.source == "trigger.reminders"
    assert visit.status in (VisitStatus.REQUESTED, VisitStatus.NEEDS_APPROVAL)
    assert run_contact_triggers(session, now=at("14:00"))["confirm_visits"] == []
    assert len(visits(session, case, VisitKind.CONFIRM)) == 1


def test_reaching_the_debtor_resets_the_reminder_count(debtor_case, logged, session):
    case = debtor_case()
    logged(case, when=at("09:00"), now=at("09:01"))
    logged(case, when=at("10:00"), now=at("10:01"))
    logged(case, when=at("11:00"), result="answered", now=at("11:01"))
    logged(case, when=at("12:00"), now=at("12:01"))
    run_contact_triggers(session, now=at("13:00"))
    assert visits(session, case, VisitKind.CONFIRM) == []


def test_sweep_entry_point_commits_its_work(debtor_case, session):
    case = lost_case(debtor_case, at("10:00") - timedelta(days=400))
    result = raise_contact_triggers()
    assert len(result["locate_visits"]) == 1
    assert visits(session, case, VisitKind.LOCATE)[0].reason.startswith("lost since")
