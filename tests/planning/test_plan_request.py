"""POST /routes/plan: the solver budget is the dispatcher's within policy; a past day is refused."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role
from backend.policy.defaults import DEFAULTS
from backend.timeutil import utcnow


def test_time_limit_within_policy(plan, create_user, make_visit, monkeypatch):
    monkeypatch.setitem(DEFAULTS, "routing.max_time_limit_s", 1)
    create_user(Role.COLLECTOR)
    make_visit()
    too_long = plan(time_limit_s=2)
    assert (too_long.status_code, list(too_long.json["error"]["fields"])) == (422, ["time_limit_s"])
    assert plan(time_limit_s=0.5).status_code == 200
    zero = plan(time_limit_s=0)
    assert (zero.status_code, list(zero.json["error"]["fields"])) == (422, ["time_limit_s"])


def test_past_date_is_422_naming_date(plan, create_user, make_visit):
    create_user(Role.COLLECTOR)
    make_visit()
    response = plan(day=(utcnow() - timedelta(days=2)).date())
    assert (response.status_code, list(response.json["error"]["fields"])) == (422, ["date"])


def test_plan_answer_has_a_plan_row(plan, create_user, make_visit, client, as_role):
    create_user(Role.COLLECTOR)
    make_visit()
    response = plan()
    _, headers = as_role(Role.SUPERVISOR)
    row = client.get(f"/api/v1/routes/plans/{response.json['plan_id']}", headers=headers)
    assert row.status_code == 200
    assert (row.json["status"], row.json["progress"]) == ("done", 1.0)
    assert client.get("/api/v1/routes/plans/999999", headers=headers).status_code == 404
