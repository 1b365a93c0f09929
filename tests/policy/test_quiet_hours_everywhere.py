"""One quiet-hours decision: a portfolio's `contact.quiet_hours_channels` reaches calls, visits and the planner."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role
from backend.planning.inputs import load_plan_inputs
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.visits.conftest import daytime_zone, make_visit, new_key, outcome_body, plan_day  # noqa: F401

QUIET = "quiet_hours_violation"
LAWFUL_DAY_S = 14 * 3600  # 08:00-22:00 under the default profile


def _cases(create_portfolio, create_case, zone):
    """A case under the default rules and one whose portfolio lets only SMS be quiet (calls, visits free)."""
    default = create_case()
    relaxed = create_case(portfolio=create_portfolio(overrides={"contact.quiet_hours_channels": ["sms"]}))
    for case in (default, relaxed):
        case.timezone = zone
    return default, relaxed


def test_quiet_hours_channels_reaches_calls_visits_and_the_planner(
        client, session, as_role, create_portfolio, create_case, make_visit, outcome_body, collector):  # noqa: F811
    night = daytime_zone(23)  # it is about 23:00 there now: quiet under the default rules
    default, relaxed = _cases(create_portfolio, create_case, night)
    _, dispatcher = as_role(Role.DISPATCHER)
    user, headers = collector

    # Calls: refused at night under the default rules, allowed where calls are not quiet-hours bound.
    def call(case):
        return client.post(f"/api/v1/cases/{case.id}/contact-attempts", headers=dispatcher, json={
            "party": "debtor", "channel": "call", "started_at": (utcnow() - timedelta(minutes=1)).isoformat(),
            "result": "no_answer"})

    refused, allowed = call(default), call(relaxed)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "quiet_hours"
    assert allowed.status_code == 201, allowed.json

    # SMS stays quiet-hours bound in the relaxed portfolio: the same rule, read per channel.
    sms = client.post(f"/api/v1/cases/{relaxed.id}/contact-attempts", headers=dispatcher, json={
        "party": "debtor", "channel": "sms", "started_at": (utcnow() - timedelta(minutes=1)).isoformat(),
        "result": "no_answer"})
    assert sms.status_code == 409 and sms.json["error"]["code"] == "quiet_hours"

    # Visits: the outcome's quiet-hours flag follows the same setting.
    flags = {}
    for case in (default, relaxed):
        visit = make_visit(VisitStatus.ASSIGNED, collector=user, case=case)
        response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body(),
                               headers={**headers, "Idempotency-Key": new_key()})
        assert response.status_code == 201, response.json
        flags[case.id] = response.json["flags"]
    assert QUIET in flags[default.id] and QUIET not in flags[relaxed.id]

    # The planner: arrival windows are the lawful hours under the default rules, the whole day otherwise.
    day = plan_day()
    open_visits = {case.id: make_visit(case=case) for case in (default, relaxed)}
    inputs = load_plan_inputs(session, plan_date=day, collector_ids=[user.id], now=utcnow())
    spans = {}
    for task in inputs.tasks:
        for case_id, visit in open_visits.items():
            if task.id == visit.id:
                spans[case_id] = sum(hi - lo for lo, hi in task.windows)
    assert 0 < spans[default.id] <= LAWFUL_DAY_S
    assert spans[relaxed.id] > 20 * 3600
