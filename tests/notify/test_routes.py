"""GET /notifications for supervisors and each user's own settings."""
from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.notify.service import Outgoing, enqueue

LIST = "/api/v1/notifications"
MINE = "/api/v1/me/notifications"


def test_supervisors_list_the_outbox_filtered_and_paginated(client, session, as_role):
    enqueue(session, [Outgoing(channel="sms", template="plan_failed", to_phone="+8613800000001",
                               params={"job_id": i, "summary": "x"}) for i in range(3)])
    _, headers = as_role(Role.SUPERVISOR)
    page = client.get(f"{LIST}?status=queued&page_size=2", headers=headers).json
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (3, 1, 2, 2)
    assert page["items"][0]["text"].startswith("【FieldTrace】路线规划 #2")
    assert client.get(f"{LIST}?status=sent", headers=headers).json["total"] == 0
    # The outbox holds full numbers and collectors' positions: each read is audited, with its filters.
    reads = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications.read")
                            .order_by(AuditEvent.id)).all()
    assert [(r.details["filters"]["status"], r.details["rows"]) for r in reads] == [("queued", 2), ("sent", 0)]


def test_the_outbox_is_for_supervisors_only(client, as_role):
    for role in (Role.COLLECTOR, Role.DISPATCHER):
        _, headers = as_role(role)
        assert client.get(LIST, headers=headers).status_code == 403


def test_bad_filters_are_422_naming_the_field(client, as_role):
    _, headers = as_role(Role.SUPERVISOR)
    response = client.get(f"{LIST}?status=lost&alert_id=0", headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) >= {"status", "alert_id"}


def test_a_user_sets_their_channels_and_quiet_period(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    assert client.get(MINE, headers=headers).json["channels"] == ["push", "sms"]
    response = client.patch(MINE, headers=headers, json={"channels": ["email", "push"], "quiet_start": "22:00",
                                                        "quiet_end": "07:00", "email": "d@example.cn", "locale": "en"})
    assert response.status_code == 200, response.json
    body = client.get(MINE, headers=headers).json
    assert (body["channels"], body["quiet_start"], body["quiet_end"], body["email"], body["locale"]) == (
        ["email", "push"], "22:00", "07:00", "d@example.cn", "en")


def test_bad_settings_are_422_and_change_nothing(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.patch(MINE, headers=headers, json={"channels": ["fax"], "quiet_start": "25:00"})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) >= {"channels.0", "quiet_start"}
    half = client.patch(MINE, headers=headers, json={"quiet_start": "22:00"})
    assert half.status_code == 422 and "quiet_end" in half.json["error"]["fields"]
    assert client.get(MINE, headers=headers).json["quiet_start"] is None
