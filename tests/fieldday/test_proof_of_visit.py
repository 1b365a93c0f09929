"""GET /visits/{id}/outcome: the stored proof of visit, for the collector who reported it and staff."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.factories import CENTRE
from tests.fieldday.conftest import post_outcome
from tests.visits.conftest import daytime_zone


def _visit(make_visit, user):
    return make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})


def test_the_collector_reads_their_report_with_its_proof(client, collector, make_visit, outcome_body):
    user, headers = collector
    visit = _visit(make_visit, user)
    fix = utcnow() - timedelta(minutes=1)
    post_outcome(client, visit, outcome_body(lat=CENTRE[0] + 0.0005, accuracy_m=12, fix_at=fix.isoformat()), headers)
    response = client.get(f"/api/v1/visits/{visit.id}/outcome", headers=headers)
    assert response.status_code == 200
    body = response.json
    assert 50 < body["distance_m"] < 60 and body["on_site"] is True
    assert body["accuracy_m"] == 12
    assert body["fix_at"][:19] == fix.isoformat()[:19]
    assert body["flags"] == [] and body["mock_location"] is False
    assert body["collector_id"] == user.id and body["visit_status"] == "done"


def test_dispatchers_and_supervisors_read_it_others_do_not(client, collector, as_role, make_visit, outcome_body):
    user, headers = collector
    visit = _visit(make_visit, user)
    post_outcome(client, visit, outcome_body(), headers)
    for role in (Role.DISPATCHER, Role.SUPERVISOR):
        assert client.get(f"/api/v1/visits/{visit.id}/outcome", headers=as_role(role)[1]).status_code == 200
    assert client.get(f"/api/v1/visits/{visit.id}/outcome", headers=as_role(Role.ADMIN)[1]).status_code == 403
    assert client.get(f"/api/v1/visits/{visit.id}/outcome", headers=as_role(Role.COLLECTOR)[1]).status_code == 404


def test_a_visit_without_a_report_is_404(client, collector, make_visit):
    user, headers = collector
    visit = _visit(make_visit, user)
    response = client.get(f"/api/v1/visits/{visit.id}/outcome", headers=headers)
    assert response.status_code == 404


def test_a_mock_location_is_flagged(client, collector, make_visit, outcome_body):
    user, headers = collector
    response = post_outcome(client, _visit(make_visit, user), outcome_body(mock_location=True), headers)
    assert response.status_code == 201
    assert response.json["flags"] == ["mock_location"]


def test_a_report_dated_before_the_visit_was_assigned_is_backdated(client, collector, make_visit, outcome_body):
    user, headers = collector
    response = post_outcome(client, _visit(make_visit, user),
                            outcome_body(recorded_at=utcnow() - timedelta(hours=5)), headers)
    assert response.status_code == 201
    assert response.json["flags"] == ["backdated"]


def test_a_late_report_dated_after_the_visit_was_done_is_backdated(client, collector, as_role, dispatcher,
                                                                    make_visit, outcome_body, session):
    user, headers = collector
    other, other_headers = as_role(Role.COLLECTOR)
    visit = _visit(make_visit, user)
    client.post(f"/api/v1/visits/{visit.id}/assign",
                json={"collector_id": other.id, "date": visit.scheduled_date.isoformat()}, headers=dispatcher[1])
    post_outcome(client, visit, outcome_body(), other_headers)
    response = post_outcome(client, visit, outcome_body(recorded_at=utcnow() + timedelta(hours=1)), headers)
    assert response.status_code == 201
    assert response.json["flags"] == ["backdated", "reassigned"]


def test_bad_fix_at_is_422_naming_it(client, collector, make_visit, outcome_body):
    user, headers = collector
    response = post_outcome(client, _visit(make_visit, user), outcome_body(fix_at="yesterday"), headers)
    assert response.status_code == 422
    assert "fix_at" in response.json["error"]["fields"]
