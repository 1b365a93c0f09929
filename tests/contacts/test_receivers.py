"""Visit outcomes become contact attempts, promises and payments (never refused: the visit happened)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend.contacts.compliance import flagged_attempts
from backend.contacts.models import AttemptResult, CasePayment, Channel, ContactAttempt, Promise
from backend.signals import visit_outcome_recorded
from backend.timeutil import utcnow
from backend.visits.models import OutcomeKind, VisitStatus
from backend.visits.requests import request_visit
from tests.contacts.conftest import at
from tests.factories import CENTRE


def afternoon_zone() -> str:
    """A zone where it is now mid-afternoon, so a visit reported now is lawful whenever the tests run."""
    zones = (f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}" for offset in range(-12, 15))
    return next(zone for zone in zones if datetime.now(UTC).astimezone(ZoneInfo(zone)).hour == 14)


def send(session, visit, actor_id, **outcome):
    fields = {"id": None, "notes": "", "promise": None, "payment": None, **outcome}
    visit_outcome_recorded.send(visit, session=session, outcome=SimpleNamespace(**fields), actor_id=actor_id)


def rows(session, model):
    return session.scalars(sa.select(model)).all()


def test_promise_at_the_door_logs_a_visit_attempt_and_the_promise(debtor_case, create_user, session):
    case = debtor_case()
    collector = create_user("collector")
    visit = request_visit(session, case_id=case.id, kind="confirm")
    send(session, visit, collector.id, id=9001, outcome="promise_to_pay", recorded_at=at("15:00"),
         notes="will pay on payday", promise={"amount": "800.00", "due_date": "2026-11-14"})
    [attempt] = rows(session, ContactAttempt)
    assert (attempt.channel, attempt.result, attempt.source, attempt.visit_id, attempt.logged_by_id) == (
        Channel.VISIT, AttemptResult.PROMISE, "visit", visit.id, collector.id)
    assert attempt.started_at == at("15:00") and attempt.violations == [] and attempt.reached
    [promise] = rows(session, Promise)
    assert (promise.amount, promise.due_date.isoformat(), promise.source, promise.visit_id, promise.attempt_id) == (
        Decimal("800.00"), "2026-11-14", "visit", visit.id, attempt.id)
    # The same outcome delivered again is stored once.
    send(session, visit, collector.id, id=9001, outcome="promise_to_pay", recorded_at=at("15:00"),
         promise={"amount": "800.00", "due_date": "2026-11-14"})
    assert len(rows(session, ContactAttempt)) == 1 and len(rows(session, Promise)) == 1


def test_paid_at_the_door_records_the_payment(debtor_case, create_user, session):
    case = debtor_case()
    collector = create_user("collector")
    visit = request_visit(session, case_id=case.id, kind="broken_promise")
    send(session, visit, collector.id, id=9002, outcome=OutcomeKind("paid"), recorded_at=at("11:00"),
         payment={"amount": "2500.50", "receipt_no": "RC-7"})
    [payment] = rows(session, CasePayment)
    assert (payment.amount, payment.receipt_no, payment.visit_id, payment.paid_at) == (
        Decimal("2500.50"), "RC-7", visit.id, at("11:00"))
    assert rows(session, ContactAttempt)[0].result == AttemptResult.ANSWERED


def test_a_night_visit_is_stored_with_its_violation_for_supervisors(debtor_case, create_user, session):
    case = debtor_case()
    collector = create_user("collector")
    visit = request_visit(session, case_id=case.id, kind="locate")
    send(session, visit, collector.id, outcome="not_home", recorded_at=at("23:15"))
    [attempt] = rows(session, ContactAttempt)
    assert [v["code"] for v in attempt.violations] == ["quiet_hours"]
    assert attempt.result == AttemptResult.NO_ANSWER
    flagged, total = flagged_attempts(session)
    assert total == 1 and flagged[0][0].id == attempt.id


def test_a_real_outcome_report_reaches_the_contact_log(debtor_case, as_role, client, session):
    """End to end through POST /visits/{id}/outcome, as the phone sends it."""
    case = debtor_case(tz=afternoon_zone())
    collector, headers = as_role("collector")
    visit = request_visit(session, case_id=case.id, kind="confirm")
    visit.collector_id, visit.scheduled_date, visit.status = collector.id, utcnow().date(), VisitStatus.ASSIGNED
    session.flush()
    due = (utcnow() + timedelta(days=5)).date().isoformat()
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json={"outcome": "promise_to_pay", "recorded_at": utcnow().isoformat(), "lat": CENTRE[0],
                                 "lon": CENTRE[1], "accuracy_m": 10, "promise": {"amount": "700", "due_date": due}},
                           headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.json
    [attempt] = rows(session, ContactAttempt)
    assert (attempt.visit_id, attempt.result, attempt.violations) == (visit.id, AttemptResult.PROMISE, [])
    [promise] = rows(session, Promise)
    assert (promise.amount, promise.due_date.isoformat(), promise.visit_outcome_id) == (
        Decimal("700.00"), due, response.json["id"])
