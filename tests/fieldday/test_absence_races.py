"""An absence, or a deactivation, and whatever puts a visit on that collector's day serialise (visits.days:
the collector-day lock, and the collector's row read FOR SHARE): after both commit, no open visit is the
absent or inactive collector's (real commits, two sessions, one held open while the other runs on a
thread until its backend is seen waiting for a lock)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role
from backend.auth.service import create_user, update_user
from backend.extensions import db
from backend.planning.inputs import load_plan_inputs
from backend.planning.moves import move_stop
from backend.planning.service import solve_plan
from backend.planning.store import store_plan
from backend.visits.absences import record_absence
from backend.visits.models import OPEN_STATUSES, Visit
from backend.visits.service import assign_visit
from tests.factories import CENTRE
from tests.threads import OnThread, seed_pool_visit
from tests.visits.conftest import plan_day


def _seed(session) -> tuple[int, int, int]:
    return seed_pool_visit(session, "cd")


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


def _deactivate(collector_id, dispatcher_id):
    def work(session):
        return update_user(session, collector_id, active=False, actor_id=dispatcher_id).active
    return work


def _assign(visit_id, collector_id, dispatcher_id):
    def work(session):
        return assign_visit(session, visit_id, collector_id=collector_id, day=plan_day(), actor_id=dispatcher_id).id
    return work


# Two ways a collector leaves their day: what each returns (released visit ids; active), why a plan leaves
# their visits out, how the plan lists them, and what an assignment meanwhile is refused with.
AWAY = {
    "absence": (_absent, lambda visit_ids: [visit_ids], "collector_absent", "absent", "collector_absent"),
    # 422 naming collector_id (not an active collector): the deactivation released the collector's visits
    # before the assignment gave one; read before its commit, the collector would keep it for ever.
    "deactivation": (_deactivate, lambda _visit_ids: [False], "collector_inactive", "inactive", "validation_error"),
}


def _solved(session, collector_id: int):
    inputs = load_plan_inputs(session, plan_date=plan_day(), collector_ids=[collector_id], actor_id=None)
    out = solve_plan(inputs, time_limit_s=1)
    assert [s.task_id for r in out.result.routes for s in r.stops], "the plan gives the visit to the collector"
    return inputs, out


def _stored_on_other_route(committed, dispatcher_id: int) -> tuple[int, int]:
    """(route id, other collector's id): the seeded visit planned on another collector's route, committed."""
    other = create_user(committed, username="cd-other", password="correct-horse", name="O", role=Role.COLLECTOR,
                        home={"lat": CENTRE[0], "lon": CENTRE[1]})
    committed.commit()
    inputs, out = _solved(committed, other.id)
    route_id = store_plan(committed, inputs, out.result, actor_id=dispatcher_id)["routes"][0]["id"]
    committed.commit()
    return route_id, other.id


def test_an_absence_recorded_while_a_stop_moves_to_the_collector_waits_and_releases_it(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    route_id, _ = _stored_on_other_route(committed, dispatcher_id)
    with Session(db.engine) as moving:
        move_stop(moving, route_id=route_id, visit_id=visit_id, collector_id=collector_id, actor_id=dispatcher_id)
        absence = OnThread(app, _absent(collector_id, dispatcher_id))
        waited = absence.waits()  # for the move's transaction
        moving.commit()
    outcome = absence.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == [[visit_id]]
    assert waited


def test_the_visits_an_absent_collector_held_are_reported_absent_not_changed(app, committed):
    """The absence released the collector's own visits (so they changed since the plan read them): the
    plan still says why they left the route, the collector's absence."""
    visit_id, collector_id, dispatcher_id = _seed(committed)
    assign_visit(committed, visit_id, collector_id=collector_id, day=plan_day(), actor_id=dispatcher_id)
    committed.commit()
    with Session(db.engine) as storing:
        inputs, out = _solved(storing, collector_id)
        storing.commit()
        assert OnThread(app, _absent(collector_id, dispatcher_id)).join() == [[visit_id]]
        stored = store_plan(storing, inputs, out.result, actor_id=dispatcher_id)
        storing.commit()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert stored["unassigned"] == [{"visit_id": visit_id, "reason": "collector_absent"}]
    assert stored["skipped_collectors"] == [{"collector_id": collector_id, "reason": "absent"}]


def test_a_stop_moved_while_its_target_is_deactivated_waits_and_is_refused(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    route_id, other_id = _stored_on_other_route(committed, dispatcher_id)

    def move(session):
        return move_stop(session, route_id=route_id, visit_id=visit_id, collector_id=collector_id,
                         actor_id=dispatcher_id)["visit_id"]

    with Session(db.engine) as deactivating:
        _deactivate(collector_id, dispatcher_id)(deactivating)
        moving = OnThread(app, move)
        waited = moving.waits()  # for the deactivation's transaction
        deactivating.commit()
    outcome = moving.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == ["validation_error"]
    assert _open_visits_of(committed, other_id, plan_day()) == [visit_id]
    assert waited


def test_a_plan_stored_while_a_deactivation_is_open_waits_and_leaves_the_collector_out(app, committed):
    visit_id, collector_id, dispatcher_id = _seed(committed)
    inputs, out = _solved(committed, collector_id)
    committed.commit()
    with Session(db.engine) as deactivating:
        _deactivate(collector_id, dispatcher_id)(deactivating)
        storing = OnThread(app, lambda session: store_plan(session, inputs, out.result, actor_id=dispatcher_id))
        waited = storing.waits()  # for the deactivation's transaction
        deactivating.commit()
    [stored] = storing.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert stored["unassigned"] == [{"visit_id": visit_id, "reason": "collector_inactive"}]
    assert stored["routes"] == []
    assert stored["skipped_collectors"] == [{"collector_id": collector_id, "reason": "inactive"}]
    assert waited


@pytest.mark.parametrize("away", list(AWAY))
def test_leaving_the_day_while_an_assignment_is_open_waits_and_releases_it(app, committed, away):
    leave, released, *_ = AWAY[away]
    visit_id, collector_id, dispatcher_id = _seed(committed)
    with Session(db.engine) as assigning:
        assign_visit(assigning, visit_id, collector_id=collector_id, day=plan_day(), actor_id=dispatcher_id)
        leaving = OnThread(app, leave(collector_id, dispatcher_id))
        waited = leaving.waits()  # for the assignment's transaction
        assigning.commit()
    outcome = leaving.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == released([visit_id])
    assert waited


@pytest.mark.parametrize("away", list(AWAY))
def test_an_assignment_made_while_the_collector_leaves_the_day_waits_and_is_refused(app, committed, away):
    leave, *_, refusal = AWAY[away]
    visit_id, collector_id, dispatcher_id = _seed(committed)
    with Session(db.engine) as leaving:
        leave(collector_id, dispatcher_id)(leaving)
        assignment = OnThread(app, _assign(visit_id, collector_id, dispatcher_id))
        waited = assignment.waits()  # for the absence's or deactivation's transaction
        leaving.commit()
    outcome = assignment.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == [refusal]  # what POST /visits/{id}/assign answers for an absent / inactive collector
    assert waited


@pytest.mark.parametrize("away", list(AWAY))
def test_leaving_the_day_while_a_plan_is_stored_waits_and_releases_its_visits(app, committed, away):
    leave, released, *_ = AWAY[away]
    visit_id, collector_id, dispatcher_id = _seed(committed)
    with Session(db.engine) as storing:
        inputs, out = _solved(storing, collector_id)
        store_plan(storing, inputs, out.result, actor_id=dispatcher_id)
        leaving = OnThread(app, leave(collector_id, dispatcher_id))
        waited = leaving.waits()  # for the plan's transaction
        storing.commit()
    outcome = leaving.join()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert outcome == released([visit_id])
    assert waited


@pytest.mark.parametrize("away", list(AWAY))
def test_a_plan_solved_before_the_collector_left_the_day_is_stored_without_them(app, committed, away):
    """A plan job reads the day, solves for minutes without a transaction, then stores: an absence or a
    deactivation in between keeps the collector's planned visits in the pool."""
    leave, released, reason, listed, _ = AWAY[away]
    visit_id, collector_id, dispatcher_id = _seed(committed)
    with Session(db.engine) as storing:
        inputs, out = _solved(storing, collector_id)
        storing.commit()  # as plan_routes_job does before solving
        assert OnThread(app, leave(collector_id, dispatcher_id)).join() == released([])
        stored = store_plan(storing, inputs, out.result, actor_id=dispatcher_id)
        storing.commit()
    assert _open_visits_of(committed, collector_id, plan_day()) == []
    assert stored["unassigned"] == [{"visit_id": visit_id, "reason": reason}]
    assert stored["routes"] == []
    assert {"collector_id": collector_id, "reason": listed} in stored["skipped_collectors"]
