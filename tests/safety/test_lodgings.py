"""Sealed lodgings: rotation and proximity warnings, and nobody else sees where a collector sleeps."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.safety.lodgings import lodging_start_for
from backend.safety.models import Lodging
from tests.factories import CENTRE
from tests.safety.conftest import offset

LODGINGS = "/api/v1/safety/lodgings"
NIGHT = datetime.fromisoformat("2026-06-10T20:00:00+08:00")


def stay(name="Jinjiang Inn", night=NIGHT, nights=1, north_m=5_000.0, east_m=0.0, kind="lodging", **fields):
    lat, lon = offset(*CENTRE, north_m=north_m, east_m=east_m)
    body = {"kind": kind, "name": name, "address": "12 Hotel Road", "lat": lat, "lon": lon,
            "check_in": night.isoformat(), **fields}
    if kind == "lodging" and "check_out" not in fields:
        body["check_out"] = (night + timedelta(days=nights) - timedelta(hours=12)).isoformat()
    return body


def codes(response) -> list[str]:
    return [w["code"] for w in response.json["warnings"]]


def test_lodging_near_tomorrows_visit_address_warns(client, collector, assigned_visit):
    user, headers = collector
    visit = assigned_visit(user, date(2026, 6, 11))
    response = client.post(LODGINGS, json=stay(north_m=300), headers=headers)
    assert response.status_code == 201, response.json
    [warning] = response.json["warnings"]
    assert warning["code"] == "near_visit_address"
    assert warning["visit_ids"] == [visit.id]
    assert 250 <= warning["distance_m"] <= 350


def test_lodging_far_from_visits_has_no_warning(client, collector, assigned_visit):
    user, headers = collector
    assigned_visit(user, date(2026, 6, 11))
    response = client.post(LODGINGS, json=stay(north_m=5_000), headers=headers)
    assert response.status_code == 201
    assert response.json["warnings"] == []


def test_other_collectors_visits_do_not_warn(client, collector, as_role, assigned_visit):
    other, _ = as_role(Role.COLLECTOR)
    assigned_visit(other, date(2026, 6, 11))
    response = client.post(LODGINGS, json=stay(north_m=300), headers=collector[1])
    assert response.json["warnings"] == []


def test_meal_place_near_a_visit_warns(client, collector, assigned_visit):
    user, headers = collector
    assigned_visit(user, date(2026, 6, 10))
    body = stay(name="Noodle shop", kind="meal", north_m=500, night=NIGHT - timedelta(hours=8))
    response = client.post(LODGINGS, json=body, headers=headers)
    assert response.status_code == 201, response.json
    assert response.json["kind"] == "meal"
    assert codes(response) == ["near_visit_address"]


def test_same_lodging_on_consecutive_nights_warns(client, collector):
    _, headers = collector
    first = client.post(LODGINGS, json=stay(), headers=headers).json
    assert first["warnings"] == []
    # The next night, 120 m away: the same place as far as a debtor watching is concerned.
    second = client.post(LODGINGS, json=stay(name="Next door inn", night=NIGHT + timedelta(days=1),
                                             north_m=5_120), headers=headers)
    [warning] = second.json["warnings"]
    assert warning["code"] == "reused"
    assert warning["lodging_ids"] == [first["id"]]


def test_lodging_far_away_or_two_nights_apart_is_not_reuse(client, collector):
    _, headers = collector
    client.post(LODGINGS, json=stay(), headers=headers)
    elsewhere = client.post(LODGINGS, json=stay(night=NIGHT + timedelta(days=1), north_m=8_000), headers=headers)
    later = client.post(LODGINGS, json=stay(night=NIGHT + timedelta(days=3)), headers=headers)
    assert elsewhere.json["warnings"] == []
    assert later.json["warnings"] == []


def test_one_stay_of_several_nights_warns(client, collector):
    response = client.post(LODGINGS, json=stay(nights=3), headers=collector[1])
    [warning] = response.json["warnings"]
    assert (warning["code"], warning["nights"]) == ("reused", 3)


def test_lodging_needs_check_out_after_check_in(client, collector):
    _, headers = collector
    missing = stay()
    del missing["check_out"]
    assert client.post(LODGINGS, json=missing, headers=headers).json["error"]["fields"] == {
        "check_out": "required for a lodging"}
    backwards = stay(check_out=(NIGHT - timedelta(hours=1)).isoformat())
    response = client.post(LODGINGS, json=backwards, headers=headers)
    assert response.status_code == 422
    assert "check_out" in response.json["error"]["fields"]


def test_bad_coordinates_are_422_naming_the_field(client, collector, session):
    response = client.post(LODGINGS, json=stay() | {"lat": 123}, headers=collector[1])
    assert response.status_code == 422
    assert "lat" in response.json["error"]["fields"]
    assert session.scalar(sa.select(sa.func.count(Lodging.id))) == 0


def test_collector_reads_own_lodgings_without_audit(client, collector, session):
    _, headers = collector
    created = client.post(LODGINGS, json=stay(), headers=headers).json
    listed = client.get(LODGINGS, headers=headers).json
    assert [row["id"] for row in listed["items"]] == [created["id"]]
    assert client.get(f"{LODGINGS}/{created['id']}", headers=headers).status_code == 200
    assert session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "lodging.read")) == 0


def test_other_collector_cannot_see_a_lodging(client, collector, as_role):
    owner, headers = collector
    created = client.post(LODGINGS, json=stay(), headers=headers).json
    _, other_headers = as_role(Role.COLLECTOR)
    assert client.get(LODGINGS, headers=other_headers).json["items"] == []
    assert client.get(f"{LODGINGS}?collector_id={owner.id}", headers=other_headers).status_code == 403
    assert client.get(f"{LODGINGS}/{created['id']}", headers=other_headers).status_code == 404


def test_tracer_and_admin_cannot_see_lodgings(client, collector, as_role):
    created = client.post(LODGINGS, json=stay(), headers=collector[1]).json
    for role in (Role.TRACER, Role.ADMIN):
        _, headers = as_role(role)
        assert client.get(LODGINGS, headers=headers).status_code == 403
        assert client.get(f"{LODGINGS}/{created['id']}", headers=headers).status_code == 403


def test_safety_dispatcher_reads_are_audited(client, collector, dispatcher, session):
    owner, headers = collector
    created = client.post(LODGINGS, json=stay(), headers=headers).json
    staff, staff_headers = dispatcher
    reason = "collector unreachable after curfew"
    listed = client.get(LODGINGS, query_string={"collector_id": owner.id, "reason": reason}, headers=staff_headers)
    assert [row["name"] for row in listed.json["items"]] == ["Jinjiang Inn"]
    read = client.get(f"{LODGINGS}/{created['id']}", query_string={"reason": reason}, headers=staff_headers)
    assert read.status_code == 200
    audits = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "lodging.read")).all()
    assert [(a.actor_id, a.subject_id, a.details["collector_id"]) for a in audits] == [
        (staff.id, str(created["id"]), owner.id)] * 2


def test_lodging_is_absent_from_the_case_payload(client, collector, as_role, create_case, assigned_visit):
    user, headers = collector
    case = create_case()
    assigned_visit(user, date(2026, 6, 11), case=case)
    body = stay(name="Secret Garden Hostel", address="88 Hidden Lane", north_m=300)
    lat = body["lat"]
    assert client.post(LODGINGS, json=body, headers=headers).status_code == 201
    for role in (Role.SUPERVISOR, Role.DISPATCHER, Role.TRACER):
        _, reader = as_role(role)
        response = client.get(f"/api/v1/cases/{case.id}", headers=reader)
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "Secret Garden" not in text and "Hidden Lane" not in text
        assert f"{lat:.5f}"[:8] not in text and "lodging" not in text.lower()


def test_route_planner_gets_the_lodging_start_and_the_read_is_audited(client, collector, dispatcher, session):
    user, headers = collector
    body = stay(north_m=300)
    client.post(LODGINGS, json=body, headers=headers)
    start = lodging_start_for(session, user.id, date(2026, 6, 11), actor_id=dispatcher[0].id)
    assert abs(start[0] - body["lat"]) < 1e-6 and abs(start[1] - body["lon"]) < 1e-6
    assert lodging_start_for(session, user.id, date(2026, 6, 10)) is None
    assert lodging_start_for(session, user.id, date(2026, 6, 12)) is None
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "lodging.route_start"))
    assert audit.actor_id == dispatcher[0].id


def test_lodging_with_idempotency_key_is_stored_once(client, collector, session):
    _, headers = collector
    keyed = {**headers, "Idempotency-Key": "lodging-key-0001"}
    first = client.post(LODGINGS, json=stay(), headers=keyed)
    again = client.post(LODGINGS, json=stay(), headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert session.scalar(sa.select(sa.func.count(Lodging.id))) == 1
