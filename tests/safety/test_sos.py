"""SOS: the highest alert at once; under duress the phone's answer is an ordinary `ok` check-in."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from backend.safety.models import AlertEvent, SafetyAlert
from tests.safety.conftest import CHECKINS, T0

SOS = "/api/v1/safety/sos"
MOMENT = (T0 + timedelta(minutes=40)).isoformat()
VOLATILE = {"id", "received_at"}


def masked(response) -> str:
    return re.sub(r'"(id|received_at)":("[^"]*"|\d+)', r'"\1":X', response.get_data(as_text=True))


def sos_alerts(session):
    return session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "sos")).all()


def test_sos_raises_the_highest_alert_at_once_with_position(client, checkin, collector, dispatcher, session):
    user, headers = collector
    checkin(headers, "shift_start")
    response = client.post(SOS, json={"lat": 30.6612, "lon": 104.0711, "recorded_at": MOMENT,
                                      "note": "two men at the door"}, headers=headers)
    assert response.status_code == 201
    assert (response.json["kind"], response.json["level"]) == ("sos", 3)
    [alert] = client.get("/api/v1/safety/alerts?state=open&kind=sos", headers=dispatcher[1]).json["items"]
    assert (alert["collector_id"], alert["level_name"], alert["duress"]) == (user.id, "supervisor", False)
    assert alert["last_position"]["coordinates"] == [104.0711, 30.6612]
    assert alert["note"] == "two men at the door"
    [raised] = session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert["id"])).all()
    assert (raised.action, raised.level, raised.actor_id) == ("raised", 3, user.id)


def test_sos_without_a_shift_still_raises(client, collector, session):
    response = client.post(SOS, json={"lat": 30.6, "lon": 104.0, "recorded_at": MOMENT}, headers=collector[1])
    assert response.status_code == 201
    assert len(sos_alerts(session)) == 1


def test_duress_answers_exactly_like_an_ok_checkin(client, as_role, session):
    """Two collectors in the same state: one checks in ok, the other sends a duress SOS."""
    answers = []
    for path, body in ((CHECKINS, {"kind": "ok"}), (SOS, {"duress": True})):
        _, headers = as_role("collector")
        start = {"kind": "shift_start", "lat": 30.6, "lon": 104.0, "recorded_at": T0.isoformat()}
        assert client.post(CHECKINS, json=start, headers=headers).status_code == 201
        answers.append(client.post(path, json={"lat": 30.65, "lon": 104.06, "recorded_at": MOMENT, **body},
                                   headers=headers))
    normal, duress = answers
    assert duress.status_code == normal.status_code == 201
    assert duress.headers["Content-Type"] == normal.headers["Content-Type"]
    assert list(duress.json) == list(normal.json)  # same keys, same order
    assert {k: v for k, v in duress.json.items() if k not in VOLATILE} == {
        k: v for k, v in normal.json.items() if k not in VOLATILE}
    assert masked(duress) == masked(normal)  # byte for byte, once the id and receipt time are masked
    [alert] = sos_alerts(session)
    assert (alert.duress, alert.level, alert.state.value) == (True, 3, "open")


def test_duress_leaves_nothing_on_the_collectors_screen(client, checkin, collector):
    _, headers = collector
    checkin(headers, "shift_start")
    before = client.get("/api/v1/safety/me", headers=headers).json
    client.post(SOS, json={"lat": 30.6571, "lon": 104.0658, "recorded_at": MOMENT, "duress": True}, headers=headers)
    after = client.get("/api/v1/safety/me", headers=headers).json
    assert set(after) == set(before)
    assert after["missed_checkin_reminder"] is False
    assert "sos" not in str(after).lower() and "duress" not in str(after).lower()


def test_duress_alert_is_flagged_for_dispatchers(client, collector, dispatcher):
    client.post(SOS, json={"lat": 30.6, "lon": 104.0, "recorded_at": MOMENT, "duress": True}, headers=collector[1])
    [alert] = client.get("/api/v1/safety/alerts?kind=sos", headers=dispatcher[1]).json["items"]
    assert (alert["duress"], alert["level"], alert["state"]) == (True, 3, "open")


def test_sos_needs_a_position(client, collector, session):
    response = client.post(SOS, json={"recorded_at": MOMENT}, headers=collector[1])
    assert response.status_code == 422
    assert {"lat", "lon"} <= set(response.json["error"]["fields"])
    assert sos_alerts(session) == []
