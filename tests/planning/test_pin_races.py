"""Pin, unpin and stop moves of one visit serialise on the visit's row (real commits, two sessions)."""
from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress
from backend.extensions import db
from backend.geo import make_point
from backend.planning.service import pin_visit, unpin_visit
from backend.policy.service import ensure_default_portfolio
from backend.visits.models import VisitPin
from backend.visits.requests import request_visit
from tests.factories import CENTRE


def _seed(session) -> tuple[int, int, int]:
    """(visit id, collector id, dispatcher id), the visit pinned to the collector, all committed."""
    collector = create_user(session, username="pin-collector", password="correct-horse", name="C",
                            role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
    dispatcher = create_user(session, username="pin-dispatcher", password="correct-horse", name="D",
                             role=Role.DISPATCHER)
    case = Case(external_ref="C-pin-race", portfolio_id=ensure_default_portfolio(session).id, debtor_name="Debtor",
                amount_due=Decimal("100.00"), currency="CNY", days_past_due=30, timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="addr", location=make_point(*CENTRE)))
    session.flush()
    visit = request_visit(session, case_id=case.id, kind="confirm")
    pin_visit(session, visit.id, collector_id=collector.id, position=None, actor_id=dispatcher.id)
    session.commit()
    return visit.id, collector.id, dispatcher.id


def test_a_pin_set_while_another_dispatcher_unpins_waits_and_stands(committed):
    """The unpin holds the visit until it commits; the pin then finds no pin and sets its own. Read before
    the unpin's commit, the pin row it updates would be gone by then (StaleDataError: a 500)."""
    visit_id, collector_id, dispatcher_id = _seed(committed)
    unpinning, pinning = Session(db.engine), Session(db.engine)
    unpin_visit(unpinning, visit_id, actor_id=dispatcher_id)  # deleted, not committed yet
    outcome = []

    def pin():
        try:
            pin_visit(pinning, visit_id, collector_id=collector_id, position=2, actor_id=dispatcher_id)
            pinning.commit()
            outcome.append("pinned")
        except Exception as exc:  # noqa: BLE001 - the test reports what the pin met
            pinning.rollback()
            outcome.append(repr(exc))

    thread = threading.Thread(target=pin)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # waiting for the unpin's transaction
    unpinning.commit()
    thread.join(30)
    unpinning.close()
    pinning.close()
    assert outcome == ["pinned"]
    assert committed.execute(sa.select(VisitPin.collector_id, VisitPin.position)
                             .where(VisitPin.visit_id == visit_id)).all() == [(collector_id, 2)]
