"""POST /visits/{id}/outcome: idempotency, geofence, flags, evidence rules, new numbers, ownership."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.auth.models import Role
from backend.cases.models import CaseContact, CasePhone
from backend.geo import make_point
from backend.safety.models import Checkin, CheckinKind
from backend.signals import visit_outcome_recorded
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitAssignment, VisitOutcome, VisitStatus
from tests.factories import CENTRE
from tests.visits.conftest import daytime_zone, new_key

# About 0.001 degree of latitude is 111 m.
NORTH_150M = CENTRE[0] + 150 / 111_195


@pytest.fixture
def assigned(make_visit, collector):
    """A visit assigned to the collector, at the centre, in a timezone where it is now mid-afternoon."""
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})
    return visit, headers


def _post(client, visit, body, headers, key=None):
    return client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                       headers={**headers, "Idempotency-Key": key or new_key()})


def test_first_201_then_replay_200_with_same_body(client, assigned, outcome_body, session):
    visit, headers = assigned
    key, body = new_key(), outcome_body()
    first = _post(client, visit, body, headers, key)
    again = _post(client, visit, body, headers, key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert session.scalar(sa.select(sa.func.count()).where(VisitOutcome.visit_id == visit.id)) == 1


def test_same_key_different_body_is_409(client, assigned, outcome_body):
    visit, headers = assigned
    key = new_key()
    assert _post(client, visit, outcome_body(), headers, key).status_code == 201
    response = _post(client, visit, outcome_body(notes="changed"), headers, key)
    assert (response.status_code, response.json["error"]["code"]) == (409, "idempotency_key_reused")


def test_idempotency_key_is_mandatory(client, assigned, outcome_body):
    visit, headers = assigned
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body(), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]["fields"]


def test_at_the_door_is_on_site_with_clean_flags(client, assigned, outcome_body):
    visit, headers = assigned
    response = _post(client, visit, outcome_body(), headers)
    assert response.json["distance_m"] < 1
    assert response.json["on_site"] is True
    assert response.json["flags"] == []


def test_geofence_widened_by_accuracy_up_to_the_cap(client, make_visit, collector, outcome_body):
    user, headers = collector
    results = []
    for accuracy in (10, 80, 5000):
        visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})
        response = _post(client, visit, outcome_body(lat=NORTH_150M, accuracy_m=accuracy), headers)
        results.append((round(response.json["distance_m"]), response.json["on_site"], response.json["geofence_m"]))
    assert results[0] == (150, False, 110)  # 100 m geofence + 10 m accuracy
    assert results[1] == (150, True, 180)
    assert results[2][1:] == (True, 250)  # capped at visits.geofence_accuracy_cap_m


def test_far_report_is_off_site(client, assigned, outcome_body):
    visit, headers = assigned
    response = _post(client, visit, outcome_body(lat=CENTRE[0] + 0.05, accuracy_m=20), headers)
    assert response.json["on_site"] is False
    assert 5000 < response.json["distance_m"] < 6000


def test_stale_fix_is_flagged_not_refused(client, make_visit, collector, outcome_body):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(15)})
    now = utcnow()
    response = _post(client, visit, outcome_body(recorded_at=now, fix_at=(now - timedelta(hours=2)).isoformat()),
                     headers)
    assert response.status_code == 201
    assert "stale_fix" in response.json["flags"]


def test_an_honest_report_delivered_late_is_not_stale(client, make_visit, collector, outcome_body, session):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(15)})
    session.execute(sa.update(VisitAssignment).where(VisitAssignment.visit_id == visit.id)
                    .values(at=utcnow() - timedelta(hours=3)))
    made = utcnow() - timedelta(hours=2)  # knocked two hours ago, offline since
    response = _post(client, visit, outcome_body(recorded_at=made, fix_at=made.isoformat()), headers)
    assert response.status_code == 201
    assert response.json["flags"] == []


def test_implausible_travel_is_flagged(client, make_visit, collector, outcome_body):
    user, headers = collector
    zone = daytime_zone(14)
    here = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": zone})
    far = make_visit(VisitStatus.ASSIGNED, collector=user, lat=31.2, lon=104.07, case_fields={"timezone": zone})
    now = utcnow()
    assert _post(client, here, outcome_body(recorded_at=now - timedelta(minutes=5)), headers).json["flags"] == []
    # 60 km in five minutes.
    response = _post(client, far, outcome_body(lat=31.2, lon=104.07, recorded_at=now), headers)
    assert response.json["flags"] == ["implausible_travel"]


def test_outcome_in_quiet_hours_is_stored_and_flagged(client, make_visit, collector, outcome_body):
    user, headers = collector
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(23)})
    response = _post(client, visit, outcome_body(), headers)
    assert response.status_code == 201
    assert "quiet_hours_violation" in response.json["flags"]


@pytest.mark.parametrize(("outcome", "extra", "field"), [
    ("paid", {}, "payment.amount"),
    ("paid", {"payment": {"amount": "100.00"}}, "payment.receipt_no"),
    ("promise_to_pay", {"promise": {"amount": "500"}}, "promise.due_date"),
    ("promise_to_pay", {"promise": {"due_date": "2099-01-01"}}, "promise.amount"),
    ("promise_to_pay", {"promise": {"amount": "500", "due_date": "2001-01-01"}}, "promise.due_date"),
    ("address_invalid", {}, "notes"),
    ("moved", {"notes": "   "}, "notes"),
])
def test_evidence_rules_are_422_naming_the_field(client, assigned, outcome_body, session, outcome, extra, field):
    visit, headers = assigned
    response = _post(client, visit, outcome_body(outcome, **extra), headers)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    session.expire_all()
    assert session.get(Visit, visit.id).status is VisitStatus.ASSIGNED


@pytest.mark.parametrize(("outcome", "extra"), [
    ("paid", {"payment": {"amount": "100.00", "receipt_no": "R-1"}}),
    ("promise_to_pay", {"promise": {"amount": "500", "due_date": "2099-01-01"}}),
    ("moved", {"reason": "neighbour says moved to Chongqing"}),
])
def test_evidence_given_is_stored(client, assigned, outcome_body, outcome, extra):
    visit, headers = assigned
    response = _post(client, visit, outcome_body(outcome, **extra), headers)
    assert response.status_code == 201
    for key in ("payment", "promise"):
        if key in extra:
            assert response.json[key]["amount"] == extra[key]["amount"]


def test_hostile_outcome_carries_a_hostile_hazard(client, assigned, outcome_body, session):
    visit, headers = assigned
    response = _post(client, visit, outcome_body("hostile", notes="threatened with a stick",
                                                 hazards=[{"kind": "dog"}]), headers)
    assert response.status_code == 201
    assert response.json["visit_status"] == "failed"
    assert {h["kind"] for h in response.json["hazards"]} == {"dog", "hostile"}
    stored = session.scalar(sa.select(VisitOutcome).where(VisitOutcome.visit_id == visit.id))
    assert {h["kind"] for h in stored.hazards} == {"dog", "hostile"}


def test_new_phones_join_the_case_with_their_source(client, assigned, outcome_body, session):
    visit, headers = assigned
    response = _post(client, visit, outcome_body("third_party_met", new_phones=[
        {"number": "13912345678", "owner": "debtor"},
        {"number": "+86 139 8765 4321", "owner": "Wang Fang", "relationship": "sibling"}]), headers)
    assert response.status_code == 201
    outcome_id = str(response.json["id"])
    phone = session.scalar(sa.select(CasePhone).where(CasePhone.number_e164 == "+8613912345678"))
    contact = session.scalar(sa.select(CaseContact).where(CaseContact.phone_e164 == "+8613987654321"))
    assert (phone.case_id, phone.source, phone.source_ref) == (visit.case_id, "visit", outcome_id)
    assert (contact.case_id, contact.name, contact.relationship, contact.source, contact.source_ref) == (
        visit.case_id, "Wang Fang", "sibling", "visit", outcome_id)


def test_bad_new_phone_is_422_naming_it(client, assigned, outcome_body):
    visit, headers = assigned
    response = _post(client, visit, outcome_body(new_phones=[{"number": "12"}]), headers)
    assert response.status_code == 422
    assert "new_phones.0.number" in response.json["error"]["fields"]
    response = _post(client, visit, outcome_body(new_phones=[{"number": "13912345678", "owner": "Li"}]), headers)
    assert "new_phones.0.relationship" in response.json["error"]["fields"]


def test_signal_reaches_receivers_in_the_same_transaction(client, assigned, outcome_body):
    visit, headers = assigned
    seen = []

    def receiver(sender, *, session, outcome, actor_id):
        seen.append((sender.id, outcome.outcome.value, actor_id, session is not None))

    visit_outcome_recorded.connect(receiver)
    try:
        _post(client, visit, outcome_body("refused"), headers)
    finally:
        visit_outcome_recorded.disconnect(receiver)
    assert seen == [(visit.id, "refused", visit.collector_id, True)]


def test_other_collector_cannot_report(client, as_role, assigned, outcome_body):
    visit, _ = assigned
    _, other_headers = as_role(Role.COLLECTOR)
    response = _post(client, visit, outcome_body(), other_headers)
    assert response.status_code == 403


def test_staff_cannot_report(client, as_role, assigned, outcome_body):
    visit, _ = assigned
    _, headers = as_role(Role.SUPERVISOR)
    assert _post(client, visit, outcome_body(), headers).status_code == 403


def test_unknown_visit_is_404(client, collector, outcome_body):
    _, headers = collector
    response = client.post("/api/v1/visits/999999/outcome", json=outcome_body(),
                           headers={**headers, "Idempotency-Key": new_key()})
    assert response.status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"lat": 91}, "lat"), ({"lon": "east"}, "lon"), ({"outcome": "kicked_door"}, "outcome"),
    ({"recorded_at": "2026-11-23T10:00:00"}, "recorded_at"), ({"accuracy_m": -5}, "accuracy_m"),
    ({"payment": {"amount": "-3", "receipt_no": "R"}}, "payment.amount"),
    ({"promise": {"amount": "1.005", "due_date": "2099-01-01"}}, "promise.amount"),
    ({"hazards": [{"kind": "ghost"}]}, "hazards.0.kind"), ({"surprise": 1}, "surprise"),
])
def test_bad_input_is_422_naming_the_field(client, assigned, outcome_body, change, field):
    visit, headers = assigned
    response = _post(client, visit, {**outcome_body(), **change}, headers)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_malformed_json_is_400(client, assigned):
    visit, headers = assigned
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", data="{oops",
                           headers={**headers, "Idempotency-Key": new_key(), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_implausible_travel_counts_safety_checkins_too(client, assigned, outcome_body, session):
    visit, headers = assigned
    session.add(Checkin(collector_id=visit.collector_id, kind=CheckinKind.OK, recorded_at=utcnow() - timedelta(
        minutes=3), received_at=utcnow(), location=make_point(31.2, 104.07)))
    session.flush()
    assert _post(client, visit, outcome_body(), headers).json["flags"] == ["implausible_travel"]


def test_revoked_or_deactivated_collector_token_is_refused_on_the_fast_path(client, session, assigned, outcome_body):
    # The outcome view checks tokens without loading the full user: revocation must still hold.
    visit, headers = assigned
    collector = session.get(Visit, visit.id).collector_id
    from backend.auth.models import User

    user = session.get(User, collector)
    user.token_version += 1
    session.flush()
    assert _post(client, visit, outcome_body(), headers).status_code == 401
    user.token_version -= 1
    user.active = False
    session.flush()
    assert _post(client, visit, outcome_body(), headers).status_code == 401
    user.active = True
    session.flush()
    assert _post(client, visit, outcome_body(), headers).status_code == 201
