"""No door report is refused for assignment reasons: a phone's queue replayed after its visits moved."""
from __future__ import annotations

import sqlalchemy as sa

from backend.auth.models import Role
from backend.notify.models import Notification
from backend.planning.models import RouteStop
from backend.timeutil import utcnow
from backend.visits.models import VisitOutcome, VisitStatus
from backend.visits.service import get_visit
from tests.fieldday.conftest import post_outcome
from tests.visits.conftest import daytime_zone, new_key, plan_day


def _assigned(make_visit, user, day):
    return make_visit(VisitStatus.ASSIGNED, collector=user, day=day, case_fields={"timezone": daytime_zone(14)})


def _reassign(client, dispatcher, visit, other, day):
    """The office gives the visit to another collector."""
    response = client.post(f"/api/v1/visits/{visit.id}/assign", json={"collector_id": other.id, "date": day.isoformat()},
                           headers=dispatcher[1])
    assert response.status_code == 200, response.json


def test_replayed_queue_stores_every_report_after_the_visits_moved(client, session, collector, as_role, dispatcher,
                                                                    make_visit, outcome_body, store_route):
    user, headers = collector
    other, other_headers = as_role(Role.COLLECTOR)
    day = plan_day()
    moved, cancelled, released, kept = (_assigned(make_visit, user, day) for _ in range(4))
    # The phone took all four; then the office moved three of them.
    _reassign(client, dispatcher, moved, other, day)
    store_route(other, day, [moved])
    assert client.post(f"/api/v1/visits/{cancelled.id}/cancel", json={"reason": "debtor paid"},
                       headers=dispatcher[1]).status_code == 200
    session.refresh(released)
    released.status, released.collector_id, released.scheduled_date = VisitStatus.SCHEDULED, None, None
    session.flush()

    events = [{"idempotency_key": new_key(), "type": "outcome", "visit_id": visit.id, **outcome_body()}
              for visit in (moved, cancelled, released, kept)]
    results = client.post("/api/v1/sync", json={"events": events}, headers=headers).json["results"]

    assert [r["status"] for r in results] == [201, 201, 201, 201]
    assert [("reassigned" in r["body"]["flags"]) for r in results] == [True, True, True, False]
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).where(VisitOutcome.collector_id == user.id)) == 4
    assert [get_visit(session, v.id).status for v in (moved, cancelled, released, kept)] == [
        VisitStatus.DONE, VisitStatus.CANCELLED, VisitStatus.DONE, VisitStatus.DONE]
    assert get_visit(session, moved.id).collector_id == user.id  # the visit is the reporter's now
    assert session.scalar(sa.select(sa.func.count()).where(RouteStop.visit_id == moved.id)) == 0
    their_day = client.get(f"/api/v1/me/route?date={day.isoformat()}", headers=other_headers).json
    assert [stop["visit_id"] for stop in their_day["stops"]] == []
    # ...and a message tells them, so they do not knock on a door already visited.
    told = session.scalars(sa.select(Notification).where(Notification.user_id == other.id)).all()
    assert {(n.visit_id, n.template) for n in told} == {(moved.id, "visit_taken_off_route")}
    assert all(str(moved.id) in n.text and "5000" not in n.text for n in told)
    assert session.scalar(sa.select(sa.func.count()).where(Notification.user_id == user.id)) == 0


def test_a_direct_report_after_reassignment_is_stored_too(client, session, collector, as_role, dispatcher,
                                                          make_visit, outcome_body):
    user, headers = collector
    other, _ = as_role(Role.COLLECTOR)
    day = plan_day()
    visit = _assigned(make_visit, user, day)
    _reassign(client, dispatcher, visit, other, day)
    response = post_outcome(client, visit, outcome_body("not_home"), headers)
    assert response.status_code == 201
    assert response.json["flags"] == ["reassigned"]
    assert response.json["visit_status"] == "failed"


def test_a_report_of_a_visit_already_done_by_the_new_holder_is_kept_beside_it(client, session, collector, as_role,
                                                                               dispatcher, make_visit, outcome_body):
    user, headers = collector
    other, other_headers = as_role(Role.COLLECTOR)
    day = plan_day()
    visit = _assigned(make_visit, user, day)
    _reassign(client, dispatcher, visit, other, day)
    assert post_outcome(client, visit, outcome_body("paid", payment={"amount": "100", "receipt_no": "R1"}),
                        other_headers).status_code == 201
    late = post_outcome(client, visit, outcome_body("not_home"), headers)
    assert late.status_code == 201
    assert "reassigned" in late.json["flags"]
    assert late.json["visit_status"] == "done"  # the new holder's result stands
    session.expire_all()
    assert get_visit(session, visit.id).last_outcome == "paid"


def test_a_collector_who_never_held_the_visit_is_still_refused(client, collector, as_role, make_visit, outcome_body):
    user, _ = collector
    _, stranger = as_role(Role.COLLECTOR)
    visit = _assigned(make_visit, user, plan_day())
    assert post_outcome(client, visit, outcome_body(), stranger).status_code == 403


def test_a_queued_checkin_naming_a_visit_moved_away_is_stored_and_runs_the_timer(
        client, session, collector, as_role, dispatcher, make_visit):
    """The phone checked in at the door before the office gave the visit to someone else: the
    check-in is kept and its timer protects the collector; a visit they never held is still refused."""
    user, headers = collector
    other, _ = as_role(Role.COLLECTOR)
    day = plan_day()
    visit = _assigned(make_visit, user, day)
    stranger = _assigned(make_visit, other, day)
    _reassign(client, dispatcher, visit, other, day)
    moment = utcnow().isoformat()
    body = {"kind": "shift_start", "lat": 30.6571, "lon": 104.0658, "recorded_at": moment}
    assert client.post("/api/v1/safety/checkins", json=body, headers=headers).status_code == 201
    arrived = client.post("/api/v1/safety/checkins", json={**body, "kind": "arrived", "visit_id": visit.id},
                          headers=headers)
    assert arrived.status_code == 201, arrived.json
    assert arrived.json["visit_id"] == visit.id and arrived.json["next_checkin_by"]
    refused = client.post("/api/v1/safety/checkins", json={**body, "kind": "arrived", "visit_id": stranger.id},
                          headers=headers)
    assert refused.status_code == 422 and "visit_id" in refused.json["error"]["fields"]
