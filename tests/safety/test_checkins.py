"""Timed check-ins: the server computes each next deadline; collectors post only their own."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from backend.auth.models import Role
from backend.errors import DomainError
from backend.safety.checkins import next_curfew
from backend.safety.models import Checkin, SafetyShift
from backend.sync.registry import sync_handler
from backend.visits.hazards import flag_hazards
from tests.safety.conftest import CHECKINS, T0


def due(body) -> datetime | None:
    return datetime.fromisoformat(body["next_checkin_by"]) if body["next_checkin_by"] else None


def test_shift_start_opens_a_monitored_session(checkin, collector, session):
    user, headers = collector
    body = checkin(headers, "shift_start")
    assert body["shift_open"] is True
    assert due(body) == T0 + timedelta(minutes=120)  # safety.shift_checkin_minutes
    shift = session.scalar(sa.select(SafetyShift).where(SafetyShift.collector_id == user.id))
    assert shift.ended_at is None and shift.deadline_reason == "shift"


def test_arrival_sets_the_visit_timer(checkin, collector, assigned_visit):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    checkin(headers, "shift_start")
    body = checkin(headers, "arrived", at=30, visit_id=visit.id)
    assert due(body) == T0 + timedelta(minutes=30 + 45)


def test_hazard_flagged_address_gets_the_shorter_timer(checkin, collector, assigned_visit, session):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    flag_hazards(session, address_id=visit.address_id, hazards=[{"kind": "dog"}], author_id=None)
    checkin(headers, "shift_start")
    body = checkin(headers, "arrived", at=30, visit_id=visit.id)
    assert due(body) == T0 + timedelta(minutes=30 + 20)


def test_lodging_checkin_starts_the_night_rest_until_the_morning(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    body = checkin(headers, "lodging", at=600)  # 18:55 in Chengdu
    assert due(body) == datetime.fromisoformat("2026-06-11T08:30:00+08:00")  # safety.morning_checkin


def test_on_shift_the_timer_never_runs_past_the_curfew(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    body = checkin(headers, "ok", at=720)  # 20:55: two hours would be 22:55
    assert due(body) == datetime.fromisoformat("2026-06-10T22:30:00+08:00")


def test_curfew_after_the_evening_one_is_the_next_night(checkin):
    late = datetime.fromisoformat("2026-06-10T23:10:00+08:00")
    assert next_curfew(late, "Asia/Shanghai") == datetime.fromisoformat("2026-06-11T22:30:00+08:00")
    assert next_curfew(late, "Europe/Berlin") == datetime.fromisoformat("2026-06-10T22:30:00+02:00")


def test_explicit_next_checkin_by_wins(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    wanted = T0 + timedelta(minutes=75)
    body = checkin(headers, "ok", at=10, next_checkin_by=wanted.isoformat())
    assert due(body) == wanted


def test_next_checkin_by_before_recorded_at_is_422(checkin, collector):
    _, headers = collector
    body = checkin(headers, "ok", at=10, next_checkin_by=T0.isoformat(), expect=422)
    assert "next_checkin_by" in body["error"]["fields"]


def test_next_checkin_by_beyond_the_policy_maximum_is_422(checkin, collector):
    _, headers = collector
    far = datetime.now(T0.tzinfo) + timedelta(hours=13)
    body = checkin(headers, "ok", at=10, next_checkin_by=far.isoformat(), expect=422)
    assert "next_checkin_by" in body["error"]["fields"]


def test_naive_recorded_at_is_422(client, collector):
    body = {"kind": "ok", "lat": 30.6, "lon": 104.0, "recorded_at": "2026-06-10T09:00:00"}
    response = client.post(CHECKINS, json=body, headers=collector[1])
    assert response.status_code == 422
    assert "recorded_at" in response.json["error"]["fields"]


def test_arriving_at_someone_elses_visit_is_refused(checkin, collector, as_role, assigned_visit, session):
    other, _ = as_role(Role.COLLECTOR)
    visit = assigned_visit(other, date(2026, 6, 10))
    body = checkin(collector[1], "arrived", visit_id=visit.id, expect=422)
    assert "visit_id" in body["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count(Checkin.id))) == 0


def test_only_collectors_post_checkins(client, as_role):
    for role in (Role.DISPATCHER, Role.SUPERVISOR, Role.TRACER):
        _, headers = as_role(role)
        body = {"kind": "ok", "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()}
        assert client.post(CHECKINS, json=body, headers=headers).status_code == 403


def test_shift_end_closes_the_session_and_stops_timers(checkin, collector, client):
    _, headers = collector
    checkin(headers, "shift_start")
    ended = checkin(headers, "shift_end", at=540)
    assert (ended["shift_open"], ended["next_checkin_by"]) == (False, None)
    after = checkin(headers, "ok", at=600)
    assert (after["shift_open"], after["next_checkin_by"]) == (False, None)
    status = client.get("/api/v1/safety/me", headers=headers).json
    assert status["shift_open"] is False and status["last_position"] is None


def test_a_late_delivered_older_checkin_does_not_move_the_deadline(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    current = checkin(headers, "ok", at=60)
    stale = checkin(headers, "ok", at=30)  # from the offline queue, recorded before the latest
    assert due(stale) == due(current) == T0 + timedelta(minutes=60 + 120)


def test_idempotency_key_stores_a_checkin_once(client, collector, session):
    _, headers = collector
    keyed = {**headers, "Idempotency-Key": "checkin-key-0001"}
    body = {"kind": "shift_start", "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()}
    first = client.post(CHECKINS, json=body, headers=keyed)
    again = client.post(CHECKINS, json=body, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert session.scalar(sa.select(sa.func.count(Checkin.id))) == 1
    other = client.post(CHECKINS, json={**body, "kind": "ok"}, headers=keyed)
    assert other.status_code == 409


def test_offline_queue_carries_checkins(collector, session):
    user, _ = collector
    handler = sync_handler("checkin")
    status, body = handler(session, user, {"idempotency_key": "k-1234567890", "type": "checkin",
                                           "kind": "shift_start", "lat": 30.6, "lon": 104.0,
                                           "recorded_at": T0.isoformat()})
    assert status == 201 and body["shift_open"] is True
    with pytest.raises(DomainError) as refused:
        handler(session, user, {"idempotency_key": "k-0987654321", "type": "checkin", "kind": "nap",
                                "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()})
    assert refused.value.status == 422 and "kind" in refused.value.fields
    assert all(sync_handler(event_type) for event_type in ("checkin", "lodging", "sos"))


def test_a_checkin_sent_directly_and_again_through_the_queue_is_stored_once(client, collector, session):
    user, headers = collector
    fields = {"kind": "arrived", "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()}
    direct = client.post(CHECKINS, json=fields, headers={**headers, "Idempotency-Key": "phone-evt-0042"})
    status, body = sync_handler("checkin")(session, user, {"idempotency_key": "phone-evt-0042", "type": "checkin",
                                                           **fields})
    assert (direct.status_code, status) == (201, 200)
    assert body == direct.json
    assert session.scalar(sa.select(sa.func.count(Checkin.id))) == 1


def test_queued_events_from_staff_are_refused(dispatcher, session):
    with pytest.raises(DomainError) as refused:
        sync_handler("sos")(session, dispatcher[0], {"idempotency_key": "k-1234567890", "type": "sos",
                                                     "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()})
    assert refused.value.status == 403
