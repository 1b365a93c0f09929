"""Pin, unpin and stop moves of one visit serialise on the visit's row (real commits, two sessions)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.planning.service import pin_visit, unpin_visit
from backend.visits.models import VisitPin
from tests.threads import OnThread, seed_pool_visit


def _seed(session) -> tuple[int, int, int]:
    """(visit id, collector id, dispatcher id), the visit pinned to the collector, all committed."""
    visit_id, collector_id, dispatcher_id = seed_pool_visit(session, "pin")
    pin_visit(session, visit_id, collector_id=collector_id, position=None, actor_id=dispatcher_id)
    session.commit()
    return visit_id, collector_id, dispatcher_id


def test_a_pin_set_while_another_dispatcher_unpins_waits_and_stands(app, committed):
    """The unpin holds the visit until it commits; the pin then finds no pin and sets its own. Read before
    the unpin's commit, the pin row it updates would be gone by then (StaleDataError: a 500)."""
    visit_id, collector_id, dispatcher_id = _seed(committed)

    def pin(session):
        pin_visit(session, visit_id, collector_id=collector_id, position=2, actor_id=dispatcher_id)
        return "pinned"

    with Session(db.engine) as unpinning:
        unpin_visit(unpinning, visit_id, actor_id=dispatcher_id)  # deleted, not committed yet
        pinning = OnThread(app, pin)
        assert pinning.waits()  # waiting for the unpin's transaction
        unpinning.commit()
    outcome = pinning.join()
    assert outcome == ["pinned"]
    assert committed.execute(sa.select(VisitPin.collector_id, VisitPin.position)
                             .where(VisitPin.visit_id == visit_id)).all() == [(collector_id, 2)]
