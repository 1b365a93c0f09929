"""The watchdog: a stopped sweep shows on the health endpoint and reaches the supervisors."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.safety.jobs import sweep_checkins
from backend.safety.models import SafetyAlert
from backend.timeutil import utcnow

HEALTH = "/api/v1/health"


def system_alerts(session):
    return session.scalars(sa.select(SafetyAlert).where(SafetyAlert.kind == "system")).all()


def test_recent_sweep_is_healthy(client, session, supervisor):
    sweep_checkins(now=utcnow())
    check = client.get(HEALTH, headers=supervisor[1]).json["checks"]["safety_sweep"]
    assert check["ok"] is True and check["age_s"] < 60
    assert system_alerts(session) == []


def test_stopped_sweep_fails_health_and_alerts_supervisors_once(client, session, supervisor):
    sweep_checkins(now=utcnow() - timedelta(minutes=2))  # 4 intervals of 30 s ago: 3 were missed
    response = client.get(HEALTH, headers=supervisor[1])
    assert response.status_code == 503 and response.json["ok"] is False
    assert response.json["checks"]["safety_sweep"]["ok"] is False
    client.get(HEALTH, headers=supervisor[1])
    [alert] = client.get("/api/v1/safety/alerts?state=open&kind=system", headers=supervisor[1]).json["items"]
    assert (alert["level_name"], alert["collector_id"]) == ("supervisor", None)
    assert "sweep" in alert["note"]


def test_sweep_resuming_after_a_gap_raises_the_alert_itself(session):
    down_since = utcnow() - timedelta(hours=1)
    sweep_checkins(now=down_since)
    result = sweep_checkins(now=utcnow())
    assert result["gap_alert_id"] is not None
    [alert] = system_alerts(session)
    assert down_since.isoformat() in alert.note
    # Nobody read the health endpoint during the outage; and reading it now adds no second alert.
    assert sweep_checkins(now=utcnow())["gap_alert_id"] is None


def test_never_run_sweep_with_collectors_on_shift_is_not_ok(client, checkin, collector, session, supervisor):
    assert client.get(HEALTH, headers=supervisor[1]).json["checks"]["safety_sweep"]["ok"] is True  # nobody to watch yet
    checkin(collector[1], "shift_start")
    check = client.get(HEALTH, headers=supervisor[1]).json["checks"]["safety_sweep"]
    assert check["ok"] is False and "never run" in check["detail"]
    assert len(system_alerts(session)) == 1
