"""Safety alerts reach people: who is told at each level, acknowledgement, duress, failures."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from backend.auth.models import Role
from backend.notify.jobs import deliver_due
from backend.notify.models import Notification, NotificationPreference
from backend.notify.service import to_user
from backend.policy.defaults import DEFAULTS
from backend.safety.alerts import raise_sos
from backend.safety.jobs import sweep_checkins
from backend.safety.models import AlertEvent, AlertState, SafetyAlert
from backend.safety.notices import ack_token, on_notification_failed
from tests.safety.conftest import T0

DEADLINE = T0 + timedelta(minutes=120)
RAISED = DEADLINE + timedelta(minutes=5, seconds=1)


@pytest.fixture
def staff(create_user):
    """Two dispatchers on shift at T0 (08:55 Chengdu) and two supervisors, all with phones."""
    return {
        "dispatchers": [create_user(Role.DISPATCHER, phone=f"+861390000000{i}") for i in (1, 2)],
        "supervisors": [create_user(Role.SUPERVISOR, phone=f"+861390000001{i}") for i in (1, 2)],
    }


@pytest.fixture
def collector(create_user, auth_headers):
    user = create_user(Role.COLLECTOR, name="王五", phone="+8613800000099")
    return user, auth_headers(user)


def messages(session, alert_id):
    session.expire_all()
    return session.scalars(sa.select(Notification).where(Notification.alert_id == alert_id)
                           .order_by(Notification.id)).all()


def delivered_to(webhook, alert_id) -> set[tuple]:
    return {(m["to"]["user_id"], m["channel"], m["level"]) for m in webhook.delivered if m["alert_id"] == alert_id}


def test_sos_reaches_every_level_2_and_3_recipient_in_one_delivery_run(session, webhook, staff, collector):
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    session.commit()
    deliver_due(now=T0 + timedelta(seconds=1))
    expected = {(d.id, ch, 2) for d in staff["dispatchers"] for ch in ("push", "sms")} | {
        (s.id, ch, 3) for s in staff["supervisors"] for ch in ("sms", "voice")}
    assert delivered_to(webhook, alert.id) == expected
    assert all(m.status.value == "sent" and m.attempts == 1 for m in messages(session, alert.id))
    # The collector's own phone is not a recipient of their SOS.
    assert user.id not in {m["to"]["user_id"] for m in webhook.delivered}


def test_an_sos_reaches_on_duty_staff_at_once_even_inside_their_own_quiet_period(session, webhook, staff, collector):
    """Staff quiet periods hold notices, never an SOS: everyone resting in theirs is told now."""
    user, _ = collector
    everyone = staff["dispatchers"] + staff["supervisors"]
    for person in everyone:  # 08:00-12:00 covers T0 (08:55 in Chengdu), inside the dispatchers' shift
        session.add(NotificationPreference(user_id=person.id, channels=["email"], email=f"s{person.id}@example.cn",
                                           quiet_start=time(8, 0), quiet_end=time(12, 0)))
    session.flush()
    # The quiet period is real: a staff notice would wait for its end, 12:00 local.
    [held] = to_user(session, everyone[0], channels=["email"], template="alert_staff", params={}, honour_quiet=True,
                     now=T0, only_accepted=True)
    assert held.not_before == T0 + timedelta(hours=3, minutes=5)
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    session.commit()
    rows = messages(session, alert.id)
    assert {m.user_id for m in rows} == {p.id for p in everyone} and {m.not_before for m in rows} == {T0}
    deliver_due(now=T0 + timedelta(seconds=1))
    assert {(to, level) for to, _, level in delivered_to(webhook, alert.id)} == {
        *((d.id, 2) for d in staff["dispatchers"]), *((s.id, 3) for s in staff["supervisors"])}


def test_staff_text_names_collector_phone_and_place_never_the_debt(session, webhook, staff, collector):
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    session.commit()
    deliver_due(now=T0 + timedelta(seconds=1))
    row = next(m for m in messages(session, alert.id) if m.channel.value == "sms")
    text = next(m["text"] for m in webhook.delivered if m["id"] == row.id)
    assert "王五" in text and "+8613800000099" in text and "30.65000,104.06000" in text
    assert "5000.00" not in text and "CNY" not in text and "欠" not in text
    assert row.ack_code and row.ack_code in text


def test_missed_checkin_tells_collector_then_dispatchers_then_supervisors(
        session, webhook, staff, collector, checkin):
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [alert] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "missed_checkin")).all()
    deliver_due(now=RAISED)
    assert delivered_to(webhook, alert.id) == {(user.id, "push", 1)}  # the SMS follows a minute later
    deliver_due(now=RAISED + timedelta(seconds=61))
    assert delivered_to(webhook, alert.id) == {(user.id, "push", 1), (user.id, "sms", 1)}
    sweep_checkins(now=RAISED + timedelta(minutes=5))
    deliver_due(now=RAISED + timedelta(minutes=5))
    level2 = {(d.id, ch, 2) for d in staff["dispatchers"] for ch in ("push", "sms")}
    assert delivered_to(webhook, alert.id) - {(user.id, "push", 1), (user.id, "sms", 1)} == level2
    sweep_checkins(now=RAISED + timedelta(minutes=15))
    deliver_due(now=RAISED + timedelta(minutes=15))
    level3 = {(s.id, ch, 3) for s in staff["supervisors"] for ch in ("sms", "voice")}
    assert {d for d in delivered_to(webhook, alert.id) if d[2] == 3} == level3


def test_checking_in_cancels_the_collectors_pending_sms(session, webhook, collector, checkin):
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    deliver_due(now=RAISED)
    checkin(headers, "ok", at=RAISED)
    [alert_id] = session.scalars(sa.select(SafetyAlert.id)).all()
    deliver_due(now=RAISED + timedelta(minutes=2))
    assert [(m.channel.value, m.status.value) for m in messages(session, alert_id)] == [
        ("push", "sent"), ("sms", "cancelled")]


def test_acknowledging_with_the_sms_code_stops_the_chain(client, session, webhook, staff, collector, checkin):
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    sweep_checkins(now=RAISED + timedelta(minutes=5))  # level 2
    [alert] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "missed_checkin")).all()
    dispatcher = staff["dispatchers"][0]
    code = next(m.ack_code for m in messages(session, alert.id) if m.user_id == dispatcher.id)
    wrong = client.post(f"/api/v1/safety/alerts/{alert.id}/ack", json={"code": "ZZZZZZ"})
    assert wrong.status_code == 422 and "code" in wrong.json["error"]["fields"]
    response = client.post(f"/api/v1/safety/alerts/{alert.id}/ack", json={"code": code.lower()})
    assert response.status_code == 200, response.json
    assert (response.json["state"], response.json["acknowledged_by_id"]) == ("acknowledged", dispatcher.id)
    # Nothing queued for the alert goes out any more, and the sweep raises no further level.
    sweep_checkins(now=RAISED + timedelta(minutes=30))
    deliver_due(now=RAISED + timedelta(minutes=30))
    assert webhook.delivered == [] or all(m["level"] in (1, None) for m in webhook.delivered if
                                          m["alert_id"] == alert.id)
    rows = messages(session, alert.id)
    assert {m.level for m in rows} == {1, 2}
    assert {m.status.value for m in rows if m.level == 2} == {"cancelled"}


def test_a_signed_link_acknowledges_for_the_user_it_was_sent_to(client, session, webhook, staff, collector):
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    supervisor = staff["supervisors"][1]
    forged = client.post(f"/api/v1/safety/alerts/{alert.id}/ack?token=" + "x" * 40)
    assert forged.status_code == 422 and forged.json["error"]["fields"] == {"token": "invalid"}
    response = client.post(f"/api/v1/safety/alerts/{alert.id}/ack?token={ack_token(alert.id, supervisor.id)}")
    assert response.status_code == 200, response.json
    assert response.json["acknowledged_by_id"] == supervisor.id
    assert {d["status"] for d in response.json["deliveries"]} == {"cancelled"}


def test_duress_sends_nothing_to_the_collector_and_flags_only_staff_text(session, webhook, staff, collector,
                                                                        create_user):
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0, duress=True)
    session.commit()
    deliver_due(now=T0 + timedelta(seconds=1))
    sent = [m for m in webhook.delivered if m["alert_id"] == alert.id]
    assert sent and user.id not in {m["to"]["user_id"] for m in sent}
    assert "+8613800000099" not in {m["to"]["phone"] for m in sent}
    assert all("胁迫" in m["text"] or "DURESS" in m["text"] for m in sent)
    # Escalation of a duress alert never falls back to the collector either.
    assert all(m.user_id != user.id for m in messages(session, alert.id))


def test_provider_answering_500_twice_is_retried_then_sent(session, webhook, staff, collector, monkeypatch):
    monkeypatch.setitem(DEFAULTS, "notify.retry_backoff_s", [0])
    webhook.default_failures = 2
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    session.commit()
    deliver_due(now=T0 + timedelta(seconds=1))
    rows = messages(session, alert.id)
    assert {(m.status.value, m.attempts) for m in rows} == {("sent", 3)}
    assert sorted(webhook.delivered_ids().values()) == [1] * len(rows)


def test_provider_down_for_good_fails_and_raises_the_next_level_at_once(
        session, webhook, staff, collector, checkin, monkeypatch):
    monkeypatch.setitem(DEFAULTS, "notify.retry_backoff_s", [0])
    monkeypatch.setitem(DEFAULTS, "notify.max_attempts", 3)
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [alert] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "missed_checkin")).all()
    first = messages(session, alert.id)[0]
    webhook.fail[first.id] = -1  # the collector's push never gets through
    deliver_due(now=RAISED)
    rows = messages(session, alert.id)
    assert (rows[0].status.value, rows[0].attempts) == ("failed", 3)
    session.refresh(alert)
    assert alert.level == 2  # at once, not after the 5-minute interval
    event = session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                        AlertEvent.action == "escalated")).one()
    assert event.note.startswith("delivery failed: push")
    assert {(d.id, ch, 2) for d in staff["dispatchers"] for ch in ("push", "sms")} <= delivered_to(webhook, alert.id)


def test_failures_in_one_batch_raise_an_alert_once_and_record_the_rest(session, staff, collector, checkin):
    """The delivery job reports a batch: an alert two of whose level-1 messages failed rises one level (the
    first failure), the other is recorded; a failure at the top level is recorded; a closed alert is left."""
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [missed] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "missed_checkin")).all()
    sos = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=RAISED, now=RAISED)
    closed = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=RAISED, now=RAISED,
                       duress=True)
    closed.state = AlertState.ACKNOWLEDGED
    session.flush()
    supervisor = staff["supervisors"][0]
    now = RAISED + timedelta(seconds=30)

    def failure(alert, level, channel, to):
        return {"alert_id": alert.id, "level": level, "channel": channel, "user_id": to.id, "error": "down"}

    on_notification_failed(None, session=session, now=now, failed=[
        failure(missed, 1, "push", user), failure(missed, 1, "sms", user), failure(sos, 3, "voice", supervisor),
        failure(closed, 3, "sms", supervisor), {"alert_id": None, "level": None, "channel": "sms", "user_id": None}])
    session.expire_all()
    assert (missed.level, missed.notified_at, sos.level, closed.level) == (2, now, 3, 3)

    def events(alert):
        return [(e.action, e.level, e.note.split(":")[1].strip()) for e in session.scalars(
            sa.select(AlertEvent).where(AlertEvent.alert_id == alert.id, AlertEvent.at == now)
            .order_by(AlertEvent.id))]

    assert events(missed) == [("escalated", 2, "push to user " + str(user.id)),
                              ("delivery_failed", 1, "sms to user " + str(user.id))]
    assert events(sos) == [("delivery_failed", 3, f"voice to user {supervisor.id}")]
    assert events(closed) == []
    level2 = {(m.user_id, m.channel.value) for m in messages(session, missed.id) if m.level == 2}
    assert level2 == {(d.id, ch) for d in staff["dispatchers"] for ch in ("push", "sms")}
    assert {m.not_before for m in messages(session, missed.id) if m.level == 2} == {now}


def test_alert_payload_shows_each_delivery(client, session, webhook, staff, collector, as_role):
    user, _ = collector
    alert = raise_sos(session, collector=user, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
    session.commit()
    deliver_due(now=T0 + timedelta(seconds=1))
    _, headers = as_role(Role.SUPERVISOR)
    body = client.get(f"/api/v1/safety/alerts/{alert.id}", headers=headers).json
    assert len(body["deliveries"]) == 8
    assert {(d["channel"], d["status"]) for d in body["deliveries"]} == {
        ("push", "sent"), ("sms", "sent"), ("voice", "sent")}
    listed = client.get("/api/v1/safety/alerts?state=open", headers=headers).json
    assert next(a for a in listed["items"] if a["id"] == alert.id)["deliveries"] == body["deliveries"]


def test_a_missed_morning_checkin_after_a_lodging_checkin_never_texts_the_lodging(
        session, webhook, staff, collector, checkin):
    """The night's last position is the lodging: staff are told the collector is at their declared
    lodging, and where it is only by opening the alert (an audited read), never in an SMS."""
    user, headers = collector
    checkin(headers, "shift_start")
    checkin(headers, "lodging", at=13 * 60, lat=30.712345, lon=104.098765)
    morning = (T0 + timedelta(days=1)).replace(hour=0, minute=30)  # 08:30 in Chengdu
    sweep_checkins(now=morning + timedelta(minutes=5, seconds=1))
    sweep_checkins(now=morning + timedelta(minutes=10, seconds=2))
    deliver_due(now=morning + timedelta(minutes=11))
    [alert] = session.scalars(sa.select(SafetyAlert).where(SafetyAlert.collector_id == user.id)).all()
    staff_texts = [m["text"] for m in webhook.delivered if m["alert_id"] == alert.id and m["level"] == 2]
    assert staff_texts and all("住宿" in t or "lodging" in t for t in staff_texts)
    assert not any("30.71" in t or "104.09" in t for m in webhook.delivered for t in [m["text"]])
