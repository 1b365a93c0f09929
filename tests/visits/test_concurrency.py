"""Concurrent identical submissions from a retrying phone are stored once (real commits, threads)."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import sqlalchemy as sa

from backend.auth.access import issue_token
from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress
from backend.geo import make_point
from backend.idempotency import IdempotencyRecord
from backend.policy.service import ensure_default_portfolio
from backend.timeutil import utcnow
from backend.visits.models import VisitOutcome, VisitStatus
from backend.visits.requests import request_visit
from tests.factories import CENTRE
from tests.threads import at_once
from tests.visits.conftest import daytime_zone, new_key, plan_day

THREADS = 8


def _seed(session):
    user = create_user(session, username="phone-collector", password="correct-horse", name="Phone",
                       role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
    case = Case(external_ref="C-conc", portfolio_id=ensure_default_portfolio(session).id, debtor_name="Debtor",
                amount_due=Decimal("100.00"), currency="CNY", days_past_due=30, timezone=daytime_zone(14))
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="addr", location=make_point(*CENTRE)))
    session.flush()
    visit = request_visit(session, case_id=case.id, kind="confirm")
    visit.status, visit.collector_id, visit.scheduled_date = VisitStatus.ASSIGNED, user.id, plan_day()
    session.commit()
    token, _ = issue_token(user)
    return visit.id, {"Authorization": f"Bearer {token}"}


def _storm(app, visit_id, headers, bodies_and_keys):
    def post(body, key):
        return lambda client: _answer(client.post(f"/api/v1/visits/{visit_id}/outcome", json=body,
                                                  headers={**headers, "Idempotency-Key": key}))

    return at_once(app, [post(body, key) for body, key in bodies_and_keys])


def _answer(response):
    return response.status_code, response.json


def _body(outcome="met_debtor"):
    return {"outcome": outcome, "recorded_at": utcnow().isoformat(), "lat": CENTRE[0], "lon": CENTRE[1]}


def test_concurrent_identical_submissions_store_once(app, committed):
    visit_id, headers = _seed(committed)
    key, body = new_key(), _body()
    results = _storm(app, visit_id, headers, [(body, key)] * THREADS)
    assert Counter(status for status, _ in results) == {201: 1, 200: THREADS - 1}
    assert len({str(sorted(b.items())) for _, b in results}) == 1
    assert committed.scalar(sa.select(sa.func.count()).select_from(VisitOutcome)) == 1
    assert committed.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 1


def test_concurrent_different_reports_of_one_visit_one_wins(app, committed):
    visit_id, headers = _seed(committed)
    results = _storm(app, visit_id, headers, [(_body(o), new_key()) for o in ("met_debtor", "not_home") * 3])
    assert Counter(status for status, _ in results) == {201: 1, 409: 5}
    assert committed.scalar(sa.select(sa.func.count()).select_from(VisitOutcome)) == 1
