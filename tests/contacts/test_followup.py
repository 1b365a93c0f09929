"""Follow-up minimums: reachable cases 3 contacts a week, lost cases 4 a month."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role
from backend.cases.models import ContactStatus
from backend.contacts.compliance import followup_report
from backend.timeutil import utcnow
from tests.contacts.conftest import at, contact_named

NOW = at("12:00", "2026-11-12")


def behind(session, **kwargs):
    rows, _ = followup_report(session, now=NOW, **kwargs)
    return {row["case_id"]: row for row in rows}


def test_reachable_cases_need_three_contacts_a_week(debtor_case, logged, session):
    short = debtor_case(created_at=NOW - timedelta(days=20))
    enough = debtor_case(created_at=NOW - timedelta(days=20))
    new = debtor_case(created_at=NOW - timedelta(days=2))
    logged(short, when=at("10:00", "2026-11-11"), result="answered", now=NOW)
    for day in ("2026-11-09", "2026-11-10", "2026-11-11"):
        logged(enough, when=at("10:00", day), result="answered", now=NOW)
    rows = behind(session)
    assert rows[short.id]["required"] == 3 and rows[short.id]["contacts_in_window"] == 1
    assert rows[short.id]["shortfall"] == 2 and rows[short.id]["window_days"] == 7
    assert enough.id not in rows and new.id not in rows


def test_lost_cases_need_four_contacts_a_month(debtor_case, logged, session):
    short = debtor_case(status=ContactStatus.LOST, created_at=NOW - timedelta(days=60))
    enough = debtor_case(status=ContactStatus.LOST, created_at=NOW - timedelta(days=60))
    logged(short, contact_named(short, "parent"), at("10:00", "2026-11-01"), now=NOW)
    for day in ("2026-10-20", "2026-10-25", "2026-11-01", "2026-11-05"):
        logged(enough, contact_named(enough, "parent"), at("10:00", day), now=NOW)
    rows = behind(session, contact_status=ContactStatus.LOST)
    assert (rows[short.id]["required"], rows[short.id]["contacts_in_window"]) == (4, 1)
    assert enough.id not in rows


def test_follow_up_report_for_dispatchers_and_supervisors(debtor_case, client, as_role):
    case = debtor_case(created_at=utcnow() - timedelta(days=30))
    _, dispatcher = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/compliance/follow-up", headers=dispatcher)
    assert response.status_code == 200
    assert case.id in [row["case_id"] for row in response.json["items"]]
    _, tracer = as_role(Role.TRACER)
    assert client.get("/api/v1/compliance/follow-up", headers=tracer).status_code == 403
