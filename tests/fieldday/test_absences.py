"""POST /collectors/{id}/absences: the collector's open visits that day go back to the pool in one call."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.notify.models import Notification
from backend.planning.inputs import load_plan_inputs
from backend.planning.models import RouteStop
from backend.visits.models import VisitStatus
from backend.visits.service import absent_collector_ids, get_visit
from tests.visits.conftest import plan_day


def _absent(client, headers, collector_id, day, reason="flu"):
    return client.post(f"/api/v1/collectors/{collector_id}/absences", json={"date": day.isoformat(), "reason": reason},
                       headers=headers)


def test_an_absence_releases_the_day(client, session, collector, make_visit, dispatcher, store_route):
    user, _ = collector
    day = plan_day()
    first, second = (make_visit(VisitStatus.ASSIGNED, collector=user, day=day) for _ in range(2))
    under_way = make_visit(VisitStatus.IN_PROGRESS, collector=user, day=day)
    next_day = make_visit(VisitStatus.ASSIGNED, collector=user, day=day + timedelta(days=1))
    store_route(user, day, [first, second])
    response = _absent(client, dispatcher[1], user.id, day)
    assert response.status_code == 201
    assert sorted(response.json["released_visit_ids"]) == sorted([first.id, second.id])
    session.expire_all()
    for visit in (first, second):
        released = get_visit(session, visit.id)
        assert (released.status, released.collector_id, released.scheduled_date) == (VisitStatus.SCHEDULED, None, None)
    assert get_visit(session, under_way.id).status is VisitStatus.IN_PROGRESS  # they are at that door
    assert get_visit(session, next_day.id).collector_id == user.id
    assert session.scalar(sa.select(sa.func.count()).where(RouteStop.visit_id.in_([first.id, second.id]))) == 0
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "collector.absence")).actor_id == \
        dispatcher[0].id


def test_plans_skip_an_absent_collector(client, session, collector, dispatcher, as_role):
    user, _ = collector
    present, _ = as_role(Role.COLLECTOR)
    day = plan_day()
    _absent(client, dispatcher[1], user.id, day)
    assert absent_collector_ids(session, day) == {user.id}
    inputs = load_plan_inputs(session, plan_date=day)
    assert user.id not in [c.id for c in inputs.collectors]
    assert present.id in [c.id for c in inputs.collectors]
    assert (user.id, "absent") in inputs.skipped_collectors


def test_an_absent_collector_cannot_be_given_a_visit_that_day(client, collector, make_visit, dispatcher):
    user, _ = collector
    day = plan_day()
    _absent(client, dispatcher[1], user.id, day)
    response = client.post(f"/api/v1/visits/{make_visit().id}/assign",
                           json={"collector_id": user.id, "date": day.isoformat()}, headers=dispatcher[1])
    assert (response.status_code, response.json["error"]["code"]) == (409, "collector_absent")


def test_twice_is_409_and_delete_restores_the_day(client, collector, dispatcher, session):
    user, _ = collector
    day = plan_day()
    assert _absent(client, dispatcher[1], user.id, day).status_code == 201
    assert _absent(client, dispatcher[1], user.id, day).json["error"]["code"] == "absence_exists"
    listed = client.get(f"/api/v1/collectors/{user.id}/absences", headers=dispatcher[1]).json
    assert [a["date"] for a in listed["items"]] == [day.isoformat()]
    removed = client.delete(f"/api/v1/collectors/{user.id}/absences/{day.isoformat()}", headers=dispatcher[1])
    assert (removed.status_code, removed.json["date"], removed.json["reason"]) == (200, day.isoformat(), "flu")
    assert absent_collector_ids(session, day) == set()
    assert client.delete(f"/api/v1/collectors/{user.id}/absences/{day.isoformat()}",
                         headers=dispatcher[1]).status_code == 404


def test_bad_input_is_4xx_naming_the_field(client, collector, dispatcher):
    user, headers = collector
    response = client.post(f"/api/v1/collectors/{user.id}/absences", json={"date": "soon"}, headers=dispatcher[1])
    assert response.status_code == 422
    assert {"date", "reason"} <= set(response.json["error"]["fields"])
    assert client.delete(f"/api/v1/collectors/{user.id}/absences/someday",
                         headers=dispatcher[1]).json["error"]["fields"] == {"date": "not an ISO date (YYYY-MM-DD)"}
    assert _absent(client, dispatcher[1], 999999, plan_day()).status_code == 404
    assert _absent(client, headers, user.id, plan_day()).status_code == 403


def test_deactivating_a_collector_frees_their_visits(client, session, collector, make_visit, as_role, store_route):
    user, _ = collector
    day = plan_day()
    assigned = [make_visit(VisitStatus.ASSIGNED, collector=user, day=day + timedelta(days=k)) for k in range(2)]
    store_route(user, day, assigned[:1])
    dispatcher, _ = as_role(Role.DISPATCHER)
    _, admin = as_role(Role.ADMIN)
    assert client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=admin).status_code == 200
    session.expire_all()
    assert [get_visit(session, v.id).status for v in assigned] == [VisitStatus.SCHEDULED] * 2
    assert [get_visit(session, v.id).collector_id for v in assigned] == [None, None]
    assert session.scalar(sa.select(sa.func.count()).where(RouteStop.visit_id == assigned[0].id)) == 0
    # The dispatchers hear that the pool grew, and why.
    told = session.scalars(sa.select(Notification).where(Notification.user_id == dispatcher.id,
                                                         Notification.template == "visits_released_by_departure")).all()
    assert told and all(user.name in n.text and "2" in n.text for n in told)
