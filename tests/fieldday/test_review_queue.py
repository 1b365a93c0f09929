"""GET /review/outcomes: every doubtful report once, until a supervisor closes it with a decision."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.geo import make_point
from backend.safety.models import Checkin, CheckinKind
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.factories import CENTRE
from tests.fieldday.conftest import post_outcome
from tests.visits.conftest import daytime_zone

QUEUE = "/api/v1/review/outcomes"


def _plant(client, session, as_role, make_visit, outcome_body, dispatcher) -> dict[str, int]:
    """One report per anomaly, each by its own collector (so none borrows another's doubt); plus a clean one."""
    planted = {}

    def report(name, body_fields=None, zone_hour=14, before=None):
        user, headers = as_role(Role.COLLECTOR)
        visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(zone_hour)})
        if before:
            before(user, visit)
        response = post_outcome(client, visit, outcome_body(**(body_fields or {})), headers)
        assert response.status_code == 201, response.json
        planted[name] = response.json["id"]

    def checked_in_far_away(user, visit):
        session.add(Checkin(collector_id=user.id, kind=CheckinKind.OK, recorded_at=utcnow() - timedelta(minutes=3),
                            received_at=utcnow(), location=make_point(31.2, 104.07)))
        session.flush()

    def given_to_another(user, visit):
        other, _ = as_role(Role.COLLECTOR)
        client.post(f"/api/v1/visits/{visit.id}/assign",
                    json={"collector_id": other.id, "date": visit.scheduled_date.isoformat()}, headers=dispatcher[1])

    report("clean")
    report("off_site", {"lat": CENTRE[0] + 0.05})
    report("implausible_travel", before=checked_in_far_away)
    report("stale_fix", {"fix_at": (utcnow() - timedelta(hours=2)).isoformat()})
    report("mock_location", {"mock_location": True})
    report("backdated", {"recorded_at": utcnow() - timedelta(hours=3)})
    report("quiet_hours_violation", zone_hour=23)
    report("reassigned", before=given_to_another)
    return planted


def test_each_planted_anomaly_is_in_the_queue_once(client, session, as_role, make_visit, outcome_body, dispatcher,
                                                   supervisor):
    planted = _plant(client, session, as_role, make_visit, outcome_body, dispatcher)
    response = client.get(f"{QUEUE}?page_size=1000", headers=supervisor[1])
    assert response.status_code == 200
    mine = [item for item in response.json["items"] if item["outcome_id"] in planted.values()]
    by_id = {planted_id: name for name, planted_id in planted.items()}
    assert sorted(by_id[item["outcome_id"]] for item in mine) == sorted(set(planted) - {"clean"})
    for item in mine:
        assert item["reasons"] == [by_id[item["outcome_id"]]]
    only_mock = client.get(f"{QUEUE}?reason=mock_location", headers=supervisor[1]).json["items"]
    assert [item["outcome_id"] for item in only_mock] == [planted["mock_location"]]


def test_a_decision_closes_the_item_once_and_is_audited(client, session, collector, make_visit, outcome_body,
                                                        supervisor):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})
    outcome_id = post_outcome(client, visit, outcome_body(mock_location=True), headers).json["id"]
    decided = client.post(f"{QUEUE}/{outcome_id}", json={"decision": "rejected", "note": "GPS spoofing app"},
                          headers=supervisor[1])
    assert decided.status_code == 201
    assert decided.json["review"]["decision"] == "rejected"
    open_ids = [i["outcome_id"] for i in client.get(QUEUE, headers=supervisor[1]).json["items"]]
    assert outcome_id not in open_ids
    closed = client.get(f"{QUEUE}?state=closed", headers=supervisor[1]).json["items"]
    assert [i["review"]["note"] for i in closed if i["outcome_id"] == outcome_id] == ["GPS spoofing app"]
    again = client.post(f"{QUEUE}/{outcome_id}", json={"decision": "accepted", "note": "second look"},
                        headers=supervisor[1])
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_reviewed")
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "outcome.review",
                                                       AuditEvent.subject_id == str(outcome_id)))
    assert audit is not None and audit.actor_id == supervisor[0].id


def test_a_clean_report_has_nothing_to_review(client, collector, make_visit, outcome_body, supervisor):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})
    outcome_id = post_outcome(client, visit, outcome_body(), headers).json["id"]
    response = client.post(f"{QUEUE}/{outcome_id}", json={"decision": "accepted", "note": "fine"},
                           headers=supervisor[1])
    assert (response.status_code, response.json["error"]["code"]) == (409, "nothing_to_review")


def test_only_supervisors_review(client, dispatcher, collector):
    assert client.get(QUEUE, headers=dispatcher[1]).status_code == 403
    assert client.get(QUEUE, headers=collector[1]).status_code == 403


def test_bad_decision_is_422_naming_the_field(client, supervisor):
    response = client.post(f"{QUEUE}/1", json={"decision": "shrug", "note": ""}, headers=supervisor[1])
    assert response.status_code == 422
    assert {"decision", "note"} <= set(response.json["error"]["fields"])
