"""Nights and hazards: the rest after a lodging check-in, lodging warnings about recent and hazardous
addresses, and safety's answer to a hazardous report from the door."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from backend.geo import point_latlon
from backend.safety.models import SafetyShift
from backend.timeutil import utcnow
from backend.visits.hazards import flag_hazards
from backend.visits.models import VisitAssignment
from tests.factories import CENTRE
from tests.safety.conftest import T0, offset

LODGINGS = "/api/v1/safety/lodgings"


def due(body) -> datetime:
    return datetime.fromisoformat(body["next_checkin_by"])


def test_a_lodging_checkin_after_midnight_is_due_at_the_morning_time(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    body = checkin(headers, "lodging", at=942)  # 00:37 the next night in Chengdu
    assert due(body) == datetime.fromisoformat("2026-06-11T08:30:00+08:00")  # not 22:30 that evening


def test_an_early_rest_ends_after_the_longest_rest(checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    body = checkin(headers, "lodging", at=425)  # 16:00: fourteen hours (safety.max_rest_hours) come first
    assert due(body) == datetime.fromisoformat("2026-06-11T06:00:00+08:00")


def _lodging(north_m: float, check_in: datetime) -> dict:
    lat, lon = offset(*CENTRE, north_m=north_m)
    return {"kind": "lodging", "name": "Jinjiang Inn", "address": "12 Hotel Road", "lat": lat, "lon": lon,
            "check_in": check_in.isoformat(), "check_out": (check_in + timedelta(hours=14)).isoformat()}


def _report_at_centre(client, session, user, headers, assigned_visit, recorded_at):
    visit = assigned_visit(user, recorded_at.date())
    session.execute(sa.update(VisitAssignment).where(VisitAssignment.visit_id == visit.id)
                    .values(at=recorded_at - timedelta(hours=1)))
    body = {"outcome": "not_home", "recorded_at": recorded_at.isoformat(), "lat": CENTRE[0], "lon": CENTRE[1]}
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                           headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.json
    return visit


def test_a_lodging_near_an_address_visited_that_evening_warns(client, session, collector, assigned_visit):
    user, headers = collector
    visit = _report_at_centre(client, session, user, headers, assigned_visit, utcnow() - timedelta(hours=2))
    response = client.post(LODGINGS, json=_lodging(80, utcnow() + timedelta(hours=1)), headers=headers)
    assert response.status_code == 201
    [warning] = [w for w in response.json["warnings"] if w["code"] == "near_recent_visit"]
    assert warning["visit_ids"] == [visit.id]
    assert 70 <= warning["distance_m"] <= 90


def test_a_visit_longer_ago_than_the_recent_days_does_not_warn(client, session, collector, assigned_visit):
    user, headers = collector
    _report_at_centre(client, session, user, headers, assigned_visit, utcnow() - timedelta(days=10))
    response = client.post(LODGINGS, json=_lodging(80, utcnow() + timedelta(hours=1)), headers=headers)
    assert [w["code"] for w in response.json["warnings"]] == []


def test_a_lodging_near_a_hazard_flagged_address_warns(client, session, collector, create_case):
    _, headers = collector
    case = create_case(lat=offset(*CENTRE, north_m=5_300)[0])
    flag_hazards(session, address_id=case.addresses[0].id, hazards=[{"kind": "dog"}], author_id=None)
    response = client.post(LODGINGS, json=_lodging(5_000, utcnow() + timedelta(hours=1)), headers=headers)
    [warning] = [w for w in response.json["warnings"] if w["code"] == "near_hazard"]
    assert warning["kinds"] == ["dog"] and 250 <= warning["distance_m"] <= 350


def test_a_hostile_report_moves_the_position_shortens_the_timer_and_shows_on_the_board(
        client, session, checkin, collector, dispatcher, assigned_visit):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    checkin(headers, "shift_start")
    checkin(headers, "arrived", at=20, visit_id=visit.id, lat=CENTRE[0] + 0.01)  # timer: 20 + 45 minutes
    body = {"outcome": "hostile", "recorded_at": (T0 + timedelta(minutes=30)).isoformat(), "lat": CENTRE[0],
            "lon": CENTRE[1], "notes": "shouted and pushed"}
    assert client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                       headers={**headers, "Idempotency-Key": str(uuid.uuid4())}).status_code == 201
    session.expire_all()
    shift = session.scalar(sa.select(SafetyShift).where(SafetyShift.collector_id == user.id))
    assert shift.next_checkin_by == T0 + timedelta(minutes=30 + 20)  # safety.hazard_visit_checkin_minutes
    assert shift.deadline_reason == "hazard"
    assert tuple(round(v, 6) for v in point_latlon(shift.last_position)) == (round(CENTRE[0], 6), round(CENTRE[1], 6))
    [row] = client.get("/api/v1/safety/board", headers=dispatcher[1]).json["collectors"]
    assert [(h["kind"], h["visit_id"]) for h in row["hazards"]] == [("hostile", visit.id)]
    assert row["next_checkin_by"] == (T0 + timedelta(minutes=50)).isoformat()


def test_a_hazard_report_older_than_the_last_checkin_moves_nothing(client, session, checkin, collector,
                                                                    assigned_visit):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    checkin(headers, "shift_start")
    checkin(headers, "ok", at=60, lat=CENTRE[0] + 0.02)
    body = {"outcome": "hostile", "recorded_at": (T0 + timedelta(minutes=30)).isoformat(), "lat": CENTRE[0],
            "lon": CENTRE[1], "notes": "queued offline"}
    client.post(f"/api/v1/visits/{visit.id}/outcome", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    session.expire_all()
    shift = session.scalar(sa.select(SafetyShift).where(SafetyShift.collector_id == user.id))
    assert shift.deadline_reason == "shift"
    assert round(point_latlon(shift.last_position)[0], 6) == round(CENTRE[0] + 0.02, 6)
