"""GET /me/route: the collector's ordered stops with what is needed at the door, and nothing more."""
from __future__ import annotations

import json
from datetime import timedelta

from backend.auth.models import Role
from backend.timeutil import utcnow
from backend.visits.models import HazardFlag, HazardKind, VisitStatus
from tests.visits.conftest import daytime_zone, new_key, plan_day

DOOR_FIELDS = {"sequence", "visit_id", "eta", "kind", "status", "window", "address", "hazards", "requires_two",
               "debtor_name", "amount_due", "currency", "last_outcome"}


def test_ordered_stops_with_door_facts_only(client, plan, create_user, make_visit, auth_headers, create_case,
                                            session):
    user = create_user(Role.COLLECTOR)
    case = create_case(phones=("+8613800138000",), contacts=({"name": "Mother", "relationship": "parent",
                                                             "phone_e164": "+8613900139000"},))
    flagged = make_visit(case=case, kind="locate")
    session.add(HazardFlag(address_id=flagged.address_id, kind=HazardKind.DOG, note="big dog", requires_two=False,
                           created_at=utcnow(), expires_at=utcnow() + timedelta(days=30)))
    other = make_visit(lat=30.662, lon=104.07)
    session.flush()
    planned = plan(collector_ids=[user.id]).json["routes"][0]
    response = client.get(f"/api/v1/me/route?date={plan_day().isoformat()}", headers=auth_headers(user))
    assert response.status_code == 200
    body = response.json
    assert body["route_id"] == planned["id"]
    assert [s["visit_id"] for s in body["stops"]] == [s["visit_id"] for s in planned["stops"]]
    stop = next(s for s in body["stops"] if s["visit_id"] == flagged.id)
    assert set(stop) == DOOR_FIELDS
    assert stop["debtor_name"] == case.debtor_name
    assert (stop["amount_due"], stop["currency"], stop["kind"]) == ("5000.00", "CNY", "locate")
    assert stop["address"]["text"] == case.addresses[0].text
    assert [h["kind"] for h in stop["hazards"]] == ["dog"]
    text = json.dumps(body)
    assert "+86" not in text and "Mother" not in text and "collector_id" not in text
    assert other.id in {s["visit_id"] for s in body["stops"]}


def test_last_outcome_of_the_case_is_shown(client, make_visit, collector, outcome_body, session):
    user, headers = collector
    zone = daytime_zone(14)
    earlier = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": zone})
    client.post(f"/api/v1/visits/{earlier.id}/outcome", json=outcome_body("not_home"),
                headers={**headers, "Idempotency-Key": new_key()})
    again = make_visit(VisitStatus.ASSIGNED, collector=user, case=earlier.case)
    body = client.get(f"/api/v1/me/route?date={plan_day().isoformat()}", headers=headers).json
    stop = next(s for s in body["stops"] if s["visit_id"] == again.id)
    assert stop["last_outcome"]["outcome"] == "not_home"
    assert body["route_id"] is None  # assigned by hand, not planned: still listed


def test_other_collectors_stops_are_not_shown(client, make_visit, collector, create_user):
    user, headers = collector
    mine = make_visit(VisitStatus.ASSIGNED, collector=user)
    make_visit(VisitStatus.ASSIGNED, collector=create_user(Role.COLLECTOR))
    body = client.get(f"/api/v1/me/route?date={plan_day().isoformat()}", headers=headers).json
    assert [s["visit_id"] for s in body["stops"]] == [mine.id]


def test_staff_use_routes_not_me_route(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    assert client.get("/api/v1/me/route", headers=headers).status_code == 403


def test_bad_date_is_422(client, collector):
    _, headers = collector
    response = client.get("/api/v1/me/route?date=someday", headers=headers)
    assert (response.status_code, list(response.json["error"]["fields"])) == (422, ["date"])
