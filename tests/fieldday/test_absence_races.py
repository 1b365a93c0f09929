"""An absence and whatever puts a visit on that collector's day serialise on one collector-day lock
(visits.days): after both commit, no open visit is the absent collector's that day (real commits, two
sessions, one held open while the other runs on a thread)."""
from __future__ import annotations

import threading
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress
from backend.errors import DomainError
from backend.extensions import db
from backend.geo import make_point
from backend.planning.inputs import load_plan_inputs
from backend.planning.moves import move_stop
from backend.planning.service import solve_plan
from backend.planning.store import store_plan
from backend.policy.service import ensure_default_portfolio
from backend.visits.absences import record_absence
from backend.visits.models import OPEN_STATUSES, Visit
from backend.visits.requests import request_visit
from backend.visits.service import assign_visit
from tests.factories import CENTRE
from tests.visits.conftest import plan_day


def _seed(session) -> tuple[int, int, int]:
    """(visit id, collector id, dispatcher id): one open visit in the pool, all committed."""
    collector = create_user(session, username="cd-collector", password="correct-horse", name="C",
                            role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
    dispatcher = create_user(session, username="cd-dispatcher", password="correct-horse", name="D",
                             role=Role.DISPATCHER)
    case = Case(external_ref="C-collector-day", portfolio_id=ensure_default_portfolio(session).id,
                debtor_name="Debtor", amount_due=Decimal("100.00"), currency="CNY", days_past_due=30,
                timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="addr", location=make_point(*CENTRE)))
    session.flush()
    visit = request_visit(session, case_id=case.id, kind="confirm")
    session.commit()
    return visit.id, collector.id, dispatcher.id


def _on_thread(app, work) -> tuple[threading.Thread, list]:
    """Start work(session) on a thread with its own session; it commits, or rolls back and reports the error."""
    outcome: list = []

    def run():
        with app.app_context(), Session(db.engine) as session:
            try:
                outcome.append(work(session))
                session.commit()
            except DomainError as exc:
                session.rollback()
                outcome.append(exc.code)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _open_visits_of(session, collector_id: int, day) -> list[int]:
    session.expire_all()
    return list(session.scalars(sa.select(Visit.id).where(
        Visit.collector_id == collector_id, Visit.scheduled_date == day, Visit.status.in_(OPEN_STATUSES))))


def _absent(collector_id, dispatcher_id):
    def work(session):
        _, released = record_absence(session, collector_id=collector_id, day=plan_day(), reason="flu",
                                     actor_id=dispatcher_id)
        return released
    return work


def test_an_absence_recorded_while_an_assignment_is_open_waits_and_releases_it(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    assigning = Session(db.engine)
    assign_visit(assigning, visit_id, collector_id=collector_id, day=plan_day(), actor_id=dispatcher_id)
    thread, outcome = _on_thread(app, _absent(collector_id, dispatcher_id))
    thread.join(1.0)
    waited = thread.is_alive()  # for the assignment's transaction
    assigning.commit()
    assigning.close()
    thread.join(30)
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == [[visit_id]]
    assert waited


def test_an_assignment_made_while_an_absence_is_open_waits_and_is_refused(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    recording = Session(db.engine)
    _absent(collector_id, dispatcher_id)(recording)

    def assign(session):
        return assign_visit(session, visit_id, collector_id=collector_id, day=plan_day(), actor_id=dispatcher_id).id

    thread, outcome = _on_thread(app, assign)
    thread.join(1.0)
    waited = thread.is_alive()  # for the absence's transaction
    recording.commit()
    recording.close()
    thread.join(30)
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == ["collector_absent"]  # the 409 POST /visits/{id}/assign answers for an absent collector
    assert waited


def test_an_absence_recorded_while_a_stop_moves_to_the_collector_waits_and_releases_it(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    other = create_user(committed, username="cd-other", password="correct-horse", name="O", role=Role.COLLECTOR,
                        home={"lat": CENTRE[0], "lon": CENTRE[1]})
    committed.commit()
    inputs, out = _solved(committed, other.id)
    route_id = store_plan(committed, inputs, out.result, actor_id=dispatcher_id)["routes"][0]["id"]
    committed.commit()
    moving = Session(db.engine)
    move_stop(moving, route_id=route_id, visit_id=visit_id, collector_id=collector_id, actor_id=dispatcher_id)
    thread, outcome = _on_thread(app, _absent(collector_id, dispatcher_id))
    thread.join(1.0)
    waited = thread.is_alive()  # for the move's transaction
    moving.commit()
    moving.close()
    thread.join(30)
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == [[visit_id]]
    assert waited


def _solved(session, collector_id: int):
    inputs = load_plan_inputs(session, plan_date=plan_day(), collector_ids=[collector_id], actor_id=None)
    out = solve_plan(inputs, time_limit_s=1)
    assert [s.task_id for r in out.result.routes for s in r.stops], "the plan gives the visit to the collector"
    return inputs, out


def test_an_absence_recorded_while_a_plan_is_stored_waits_and_releases_its_visits(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    storing = Session(db.engine)
    inputs, out = _solved(storing, collector_id)
    store_plan(storing, inputs, out.result, actor_id=dispatcher_id)
    thread, outcome = _on_thread(app, _absent(collector_id, dispatcher_id))
    thread.join(1.0)
    waited = thread.is_alive()  # for the plan's transaction
    storing.commit()
    storing.close()
    thread.join(30)
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == [[visit_id]]
    assert waited


def test_a_plan_solved_before_an_absence_is_stored_without_the_absent_collector(app, committed):
    """A plan job reads the day, solves for minutes without a transaction, then stores: an absence
    recorded in between keeps the collector's planned visits in the pool."""
    visit_id, collector_id, dispatcher_id = _seed(committed)
    storing = Session(db.engine)
    inputs, out = _solved(storing, collector_id)
    storing.commit()  # as plan_routes_job does before solving
    thread, outcome = _on_thread(app, _absent(collector_id, dispatcher_id))
    thread.join(30)
    assert outcome == [[]]
    stored = store_plan(storing, inputs, out.result, actor_id=dispatcher_id)
    storing.commit()
    storing.close()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert stored["unassigned"] == [{"visit_id": visit_id, "reason": "collector_absent"}]
    assert stored["routes"] == []
