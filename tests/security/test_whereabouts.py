"""Findings 3–5: a lodging check-in shows as "at declared lodging" with no coordinates; route totals and
ETAs others see start at the first stop; a collector's lodgings are read one collector at a time, only
with an open alert or a stated reason, always audited."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.safety.jobs import sweep_checkins
from backend.safety.models import SafetyAlert
from tests.safety.conftest import T0

LODGING_AT = (30.71234, 104.11234)
LODGINGS = "/api/v1/safety/lodgings"


def _lodging_checkin(checkin, headers):
    checkin(headers, "shift_start")
    checkin(headers, "lodging", at=600, lat=LODGING_AT[0], lon=LODGING_AT[1])  # 18:55 in Chengdu


def _leaks(payload) -> bool:
    text = json.dumps(payload)
    return "30.712" in text or "104.112" in text


def test_lodging_checkin_is_on_the_board_as_words_without_coordinates(client, checkin, collector, dispatcher):
    user, headers = collector
    _lodging_checkin(checkin, headers)
    board = client.get("/api/v1/safety/board", headers=dispatcher[1]).json
    [row] = [r for r in board["collectors"] if r["collector_id"] == user.id]
    assert row["whereabouts"] == "at declared lodging" and row["last_position"] is None
    assert not _leaks(board)


def test_missed_checkin_after_lodging_alerts_without_the_lodging_position(client, checkin, collector, dispatcher,
                                                                          session):
    user, headers = collector
    _lodging_checkin(checkin, headers)
    # The night's rest ends at 08:30 (safety.morning_checkin): at 08:55 the morning check-in is missed.
    assert sweep_checkins(now=T0 + timedelta(hours=24))["raised"] == 1
    [alert] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.collector_id == user.id)).all()
    assert alert.position is None and alert.at_declared_lodging is True  # not even stored
    listed = client.get("/api/v1/safety/alerts", headers=dispatcher[1]).json["items"]
    one = client.get(f"/api/v1/safety/alerts/{alert.id}", headers=dispatcher[1]).json
    for view in ([a for a in listed if a["id"] == alert.id][0], one):
        assert view["whereabouts"] == "at declared lodging" and view["last_position"] is None
    assert not _leaks(listed) and not _leaks(one)


def _declare(client, headers):
    body = {"kind": "lodging", "name": "Jinjiang Inn", "address": "1 Road", "lat": LODGING_AT[0],
            "lon": LODGING_AT[1], "check_in": (T0 + timedelta(hours=11)).isoformat(),
            "check_out": (T0 + timedelta(hours=24)).isoformat()}
    response = client.post(LODGINGS, json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_dispatchers_cannot_list_lodgings_in_bulk_or_without_grounds(client, collector, dispatcher):
    user, headers = collector
    created = _declare(client, headers)
    staff = dispatcher[1]
    assert client.get(LODGINGS, headers=staff).status_code == 422  # no collector_id: no bulk listing
    assert client.get(LODGINGS, query_string={"collector_id": user.id}, headers=staff).status_code == 403
    assert client.get(f"{LODGINGS}/{created['id']}", headers=staff).status_code == 403


def test_lodging_read_with_a_stated_reason_is_audited_with_it(client, collector, dispatcher, session):
    user, headers = collector
    _declare(client, headers)
    reason = "family called: not home"
    response = client.get(LODGINGS, query_string={"collector_id": user.id, "reason": reason}, headers=dispatcher[1])
    assert response.status_code == 200 and len(response.json["items"]) == 1
    [read] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "lodging.read")).all()
    assert (read.actor_id, read.details["reason"], read.details["alert_id"]) == (dispatcher[0].id, reason, None)


def test_lodging_read_while_an_alert_is_open_needs_no_reason_and_names_the_alert(client, checkin, collector,
                                                                                supervisor, session):
    user, headers = collector
    created = _declare(client, headers)
    _lodging_checkin(checkin, headers)
    sweep_checkins(now=T0 + timedelta(hours=24))  # the morning check-in (08:30) missed
    alert_id = session.scalar(sa.select(SafetyAlert.id).where(SafetyAlert.collector_id == user.id))
    response = client.get(f"{LODGINGS}/{created['id']}", headers=supervisor[1])
    assert response.status_code == 200 and response.json["lat"] == LODGING_AT[0]
    [read] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "lodging.read")).all()
    assert (read.details["alert_id"], read.details["reason"]) == (alert_id, None)


def test_route_totals_and_etas_others_see_start_at_the_first_stop(client, plan, create_user, make_visit,
                                                                 auth_headers, as_role):
    far_home = {"lat": 30.80, "lon": 104.20}  # ~20 km from the visits
    user = create_user(Role.COLLECTOR, home=far_home)
    make_visit(lat=30.66, lon=104.07)
    make_visit(lat=30.662, lon=104.072)
    response = plan(collector_ids=[user.id])
    assert response.json["routes"], response.json
    planned = response.json["routes"][0]
    _, admin = as_role(Role.ADMIN)
    seen = client.get(f"/api/v1/routes/{planned['id']}", headers=admin).json
    own = client.get(f"/api/v1/routes/{planned['id']}", headers=auth_headers(user)).json
    assert seen["distance_m"] < 1_000  # the two stops are ~300 m apart: no 2 × 20 km legs
    assert seen["duration_s"] < 3 * 3600
    shift_start = datetime.fromisoformat(seen["stops"][0]["eta"]).astimezone(ZoneInfo(user.timezone))
    assert (shift_start.hour, shift_start.minute) == (8, 30)  # the office's day begins at the first stop
    drive_in = datetime.fromisoformat(own["stops"][0]["eta"]) - datetime.fromisoformat(seen["stops"][0]["eta"])
    assert drive_in > timedelta(minutes=20)  # only the collector's own times carry the drive from home
    geojson = client.get(f"/api/v1/routes/{planned['id']}.geojson", headers=admin).json
    line = [f for f in geojson["features"] if f["properties"]["kind"] == "route"]
    assert all(f["properties"]["distance_m"] < 1_000 for f in line)
