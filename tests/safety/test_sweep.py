"""The sweep: missed check-ins raise alerts after the grace period and escalate until acknowledged."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.notify.models import Notification
from backend.policy.defaults import DEFAULTS
from backend.queues import enqueue
from backend.safety.checkins import record_checkin
from backend.safety.jobs import sweep_checkins
from backend.safety.models import AlertEvent, SafetyAlert
from backend.timeutil import utcnow
from tests.safety.conftest import T0
from worker.sweeps import SWEEPS

ALERTS = "/api/v1/safety/alerts"
DEADLINE = T0 + timedelta(minutes=120)  # shift_start at T0, safety.shift_checkin_minutes later
RAISED = DEADLINE + timedelta(minutes=5, seconds=1)  # past the grace period


def alerts(session, kind="missed_checkin"):
    return session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == kind).order_by(SafetyAlert.id)).all()


def test_missed_checkin_is_raised_after_the_grace_period_once(checkin, collector, session):
    user, headers = collector
    checkin(headers, "shift_start", lat=30.61, lon=104.01)
    assert sweep_checkins(now=DEADLINE + timedelta(minutes=4, seconds=59))["raised"] == 0
    assert sweep_checkins(now=RAISED)["raised"] == 1
    assert sweep_checkins(now=RAISED)["raised"] == 0
    assert sweep_checkins(now=RAISED + timedelta(seconds=30))["raised"] == 0
    [alert] = alerts(session)
    assert (alert.collector_id, alert.level, alert.state.value, alert.deadline) == (user.id, 1, "open", DEADLINE)


def test_unacknowledged_alert_escalates_level_by_level(checkin, collector, session):
    _, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    levels = []
    for minutes in (4, 5, 14, 15, 29, 30):  # escalation_minutes [5, 10, 15] from each notification
        sweep_checkins(now=RAISED + timedelta(minutes=minutes))
        session.expire_all()
        levels.append(alerts(session)[0].level)
    assert levels == [1, 2, 2, 3, 3, 3]
    # (The jumps in time also look like sweep outages: the watchdog's system alert is another story.)
    events = session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alerts(session)[0].id)
                             .order_by(AlertEvent.id)).all()
    assert [(e.action, e.level, e.actor_id) for e in events] == [
        ("raised", 1, None), ("escalated", 2, None), ("escalated", 3, None), ("renotified", 3, None)]
    assert [e.at for e in events] == [RAISED + timedelta(minutes=m) for m in (0, 5, 15, 30)]


def test_the_top_level_is_told_again_every_interval_until_someone_acknowledges(
        client, checkin, collector, create_user, auth_headers, session):
    """safety.escalation_minutes [5, 10, 15]: the last wait repeats at the top level, each time with new
    messages to the supervisors, for as long as the alert is open; an acknowledgement ends the repeats."""
    supervisor = create_user(Role.SUPERVISOR, phone="+8613900000031")
    _, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [alert] = alerts(session)
    intervals = DEFAULTS["safety.escalation_minutes"]
    top = RAISED + timedelta(minutes=intervals[0] + intervals[1])
    for moment in (RAISED + timedelta(minutes=intervals[0]), top):
        sweep_checkins(now=moment)
    repeats = [top + timedelta(minutes=intervals[-1] * n) for n in (1, 2, 3)]
    for moment in repeats:
        sweep_checkins(now=moment - timedelta(seconds=1))  # not before the interval is over
        sweep_checkins(now=moment)

    def told(action):
        session.expire_all()
        events = session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                             AlertEvent.action == action)).all()
        batches = session.scalars(sa.select(Notification.created_at).distinct().where(
            Notification.alert_id == alert.id, Notification.user_id == supervisor.id, Notification.level == 3))
        return [(e.at, e.level) for e in events], sorted(batches)

    assert told("renotified") == ([(moment, 3) for moment in repeats], [top, *repeats])
    acked = client.post(f"{ALERTS}/{alert.id}/ack", headers=auth_headers(supervisor))
    assert acked.status_code == 200 and acked.json["state"] == "acknowledged"
    for n in (4, 5):
        sweep_checkins(now=top + timedelta(minutes=intervals[-1] * n))
    assert told("renotified") == ([(moment, 3) for moment in repeats], [top, *repeats])


def test_alert_carries_position_and_visit_address_never_the_debt(
        client, checkin, collector, dispatcher, assigned_visit, session):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    checkin(headers, "shift_start")
    checkin(headers, "arrived", at=30, lat=30.6601, lon=104.0702, visit_id=visit.id)
    sweep_checkins(now=T0 + timedelta(minutes=30 + 45 + 6))
    [alert] = client.get(f"{ALERTS}?state=open&kind=missed_checkin", headers=dispatcher[1]).json["items"]
    assert alert["collector"] == {"id": user.id, "name": user.name}
    assert alert["last_position"] == {"type": "Point", "coordinates": [104.0702, 30.6601]}
    assert alert["visit"]["id"] == visit.id and alert["visit"]["address"] == visit.address.text
    detail = client.get(f"{ALERTS}/{alert['id']}", headers=dispatcher[1]).get_data(as_text=True)
    assert "5000" not in detail and visit.case.debtor_name not in detail and "amount" not in detail


def test_acknowledged_alert_stops_escalating(client, checkin, collector, dispatcher, session):
    _, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [alert] = alerts(session)
    staff, staff_headers = dispatcher
    acked = client.post(f"{ALERTS}/{alert.id}/ack", headers=staff_headers)
    assert acked.status_code == 200
    assert (acked.json["state"], acked.json["acknowledged_by_id"]) == ("acknowledged", staff.id)
    assert sweep_checkins(now=RAISED + timedelta(minutes=20))["escalated"] == 0
    session.expire_all()
    assert alerts(session)[0].level == 1
    assert client.post(f"{ALERTS}/{alert.id}/ack", headers=staff_headers).status_code == 409


def test_resolve_needs_a_reason_and_is_recorded(client, checkin, collector, supervisor, session):
    _, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    [alert] = alerts(session)
    staff, staff_headers = supervisor
    blank = client.post(f"{ALERTS}/{alert.id}/resolve", json={"reason": "  "}, headers=staff_headers)
    assert blank.status_code == 422 and "reason" in blank.json["error"]["fields"]
    done = client.post(f"{ALERTS}/{alert.id}/resolve", json={"reason": "phoned her: battery died"},
                       headers=staff_headers)
    assert (done.json["state"], done.json["resolution"], done.json["resolved_by_id"]) == (
        "resolved", "phoned her: battery died", staff.id)
    again = client.post(f"{ALERTS}/{alert.id}/resolve", json={"reason": "again"}, headers=staff_headers)
    assert again.status_code == 409
    steps = client.get(f"{ALERTS}/{alert.id}", headers=staff_headers).json["events"]
    assert [(s["action"], s["actor_id"]) for s in steps] == [("raised", None), ("resolved", staff.id)]
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "safety.alert_resolved"))
    assert (audit.actor_id, audit.subject_id) == (staff.id, str(alert.id))


def test_unknown_alert_is_404(client, dispatcher):
    assert client.post(f"{ALERTS}/999999/ack", headers=dispatcher[1]).status_code == 404


def test_a_checkin_after_the_deadline_resolves_the_missed_alert(client, checkin, collector, session):
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=RAISED)
    assert client.get("/api/v1/safety/me", headers=headers).json["missed_checkin_reminder"] is True
    checkin(headers, "ok", at=RAISED + timedelta(minutes=1))
    session.expire_all()
    [alert] = alerts(session)
    assert (alert.state.value, alert.resolved_by_id, alert.resolution) == ("resolved", user.id, "collector checked in")
    assert client.get("/api/v1/safety/me", headers=headers).json["missed_checkin_reminder"] is False


def test_collectors_off_shift_are_not_swept(checkin, collector, session):
    _, headers = collector
    checkin(headers, "shift_start")
    checkin(headers, "shift_end", at=60)
    assert sweep_checkins(now=T0 + timedelta(days=1))["raised"] == 0


def test_alerts_are_for_safety_dispatchers_only(client, as_role):
    for role in (Role.COLLECTOR, Role.TRACER, Role.ADMIN):
        _, headers = as_role(role)
        assert client.get(ALERTS, headers=headers).status_code == 403


def test_sweep_runs_on_a_real_worker(session, collector, run_worker):
    user, _ = collector
    # Started three hours ago: the two-hour deadline passed an hour ago.
    record_checkin(session, collector=user, kind="shift_start", lat=30.6, lon=104.0,
                   recorded_at=utcnow() - timedelta(hours=3))
    session.commit()
    job = enqueue("safety", sweep_checkins)
    run_worker()
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value()["raised"] == 1
    [alert] = alerts(session)
    assert alert.collector_id == user.id


def test_sweep_is_scheduled_on_the_safety_queue_at_the_policy_interval():
    [sweep] = [s for s in SWEEPS if s.func == "backend.safety.jobs.sweep_checkins"]
    assert (sweep.queue, sweep.interval_s) == ("safety", DEFAULTS["safety.sweep_interval_s"])
