"""The door's true position: a collector's accurate fix proposes it; a dispatcher confirms it."""
from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.cases.models import AddressPositionProposal, CaseAddress
from backend.geo import point_latlon
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.factories import CENTRE
from tests.planning.conftest import statements
from tests.visits.conftest import daytime_zone, new_key

DOOR = (30.6318, 104.0763)


def _district_visit(make_visit, session, user, precision="district"):
    visit = make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})
    address = session.get(CaseAddress, visit.address_id)
    address.precision, address.source = precision, "gazetteer"
    session.flush()
    return visit


def _report(client, visit, headers, body):
    response = client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                           headers={**headers, "Idempotency-Key": new_key()})
    assert response.status_code == 201, response.json
    return response.json


def test_accurate_fix_at_a_district_address_is_proposed_then_confirmed(client, collector, make_visit, session,
                                                                       outcome_body, as_role):
    user, headers = collector
    visit = _district_visit(make_visit, session, user)
    _report(client, visit, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=8))
    _, dispatcher = as_role(Role.DISPATCHER)
    pending = client.get("/api/v1/address-proposals", headers=dispatcher).json
    [proposal] = [p for p in pending["items"] if p["address_id"] == visit.address_id]
    assert (proposal["accuracy_m"], proposal["proposed_by_id"]) == (8, user.id)
    address = session.get(CaseAddress, visit.address_id)
    assert address.precision == "district"  # nothing changes before a dispatcher confirms
    confirmed = client.post(f"/api/v1/address-proposals/{proposal['id']}/confirm", headers=dispatcher)
    assert confirmed.json["status"] == "confirmed"
    session.expire_all()
    address = session.get(CaseAddress, visit.address_id)
    assert (address.source, address.precision) == ("collector", "rooftop")
    lat, lon = point_latlon(address.location)
    assert math.hypot(lat - DOOR[0], lon - DOOR[1]) < 1e-7
    assert "address_proposal.confirmed" in set(session.scalars(sa.select(AuditEvent.action)))
    again = client.post(f"/api/v1/address-proposals/{proposal['id']}/reject", headers=dispatcher)
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_decided")


def test_poor_fix_or_rooftop_address_proposes_nothing(client, collector, make_visit, session, outcome_body):
    user, headers = collector
    vague = _district_visit(make_visit, session, user)
    _report(client, vague, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=80))
    exact = _district_visit(make_visit, session, user, precision="rooftop")
    _report(client, exact, headers, outcome_body("not_home", accuracy_m=5))
    count = session.scalar(sa.select(sa.func.count()).select_from(AddressPositionProposal).where(
        AddressPositionProposal.address_id.in_([vague.address_id, exact.address_id])))
    assert count == 0


def test_moved_outcome_proposes_nothing(client, collector, make_visit, session, outcome_body):
    user, headers = collector
    visit = _district_visit(make_visit, session, user)
    _report(client, visit, headers, outcome_body("moved", lat=DOOR[0], lon=DOOR[1], accuracy_m=5,
                                                 notes="neighbours say they left in May"))
    assert session.scalar(sa.select(AddressPositionProposal).where(
        AddressPositionProposal.address_id == visit.address_id)) is None


def test_a_fix_near_the_collectors_home_or_a_declared_place_is_never_proposed(client, collector, make_visit,
                                                                             session, outcome_body, as_role):
    from backend.geo import make_point
    from backend.safety.models import Lodging, PlaceKind

    user, headers = collector
    home, lodging = (30.6500, 104.0500), (30.6100, 104.1000)
    user.home = make_point(*home)
    session.add(Lodging(collector_id=user.id, kind=PlaceKind.LODGING, name="如家酒店", location=make_point(*lodging),
                        check_in=utcnow() - timedelta(days=40), check_out=utcnow() - timedelta(days=38)))
    session.flush()
    near_home, near_lodging, mocked, at_door = (_district_visit(make_visit, session, user) for _ in range(4))
    # ~100 m from home; ~150 m from a lodging the collector left weeks ago: recorded late, from there.
    _report(client, near_home, headers, outcome_body("not_home", lat=home[0] + 0.0009, lon=home[1], accuracy_m=5))
    _report(client, near_lodging, headers,
            outcome_body("not_home", lat=lodging[0], lon=lodging[1] + 0.0015, accuracy_m=5))
    _report(client, mocked, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=5,
                                                  mock_location=True))
    _report(client, at_door, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=5))
    _, dispatcher = as_role(Role.DISPATCHER)
    proposed = {p["address_id"] for p in client.get("/api/v1/address-proposals", headers=dispatcher).json["items"]}
    assert at_door.address_id in proposed
    assert not proposed & {near_home.address_id, near_lodging.address_id, mocked.address_id}



def test_a_fix_near_where_the_collector_checked_in_for_the_night_is_never_proposed(client, collector, make_visit,
                                                                                  session, outcome_body, as_role):
    from backend.geo import make_point
    from backend.safety.models import Checkin, CheckinKind

    user, headers = collector
    user.home, night = None, (30.6600, 104.0300)  # no home on file, no declared lodging: only the night's check-in
    session.add(Checkin(collector_id=user.id, kind=CheckinKind.LODGING, recorded_at=utcnow() - timedelta(days=1),
                        location=make_point(*night)))
    session.flush()
    near_night, at_door = (_district_visit(make_visit, session, user) for _ in range(2))
    _report(client, near_night, headers, outcome_body("not_home", lat=night[0] + 0.001, lon=night[1], accuracy_m=5))
    _report(client, at_door, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=5))
    _, dispatcher = as_role(Role.DISPATCHER)
    proposed = {p["address_id"] for p in client.get("/api/v1/address-proposals", headers=dispatcher).json["items"]}
    assert at_door.address_id in proposed and near_night.address_id not in proposed

def test_collectors_cannot_confirm(client, collector):
    _, headers = collector
    assert client.post("/api/v1/address-proposals/1/confirm", headers=headers).status_code == 403


def test_a_proposal_for_an_address_the_case_has_moved_from_cannot_be_confirmed(client, collector, make_visit,
                                                                              session, outcome_body, as_role):
    user, headers = collector
    visit = _district_visit(make_visit, session, user)
    _report(client, visit, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=8))
    _, dispatcher = as_role(Role.DISPATCHER)
    [proposal] = [p for p in client.get("/api/v1/address-proposals", headers=dispatcher).json["items"]
                  if p["address_id"] == visit.address_id]
    session.get(CaseAddress, visit.address_id).superseded_at = utcnow()  # the debtor moved meanwhile
    refused = client.post(f"/api/v1/address-proposals/{proposal['id']}/confirm", headers=dispatcher)
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "address_superseded")
    assert client.post(f"/api/v1/address-proposals/{proposal['id']}/reject", headers=dispatcher).status_code == 200


def test_a_proposal_shows_its_case_and_where_the_address_stands_now(client, collector, make_visit, session,
                                                                  outcome_body, as_role):
    user, headers = collector
    placed = _district_visit(make_visit, session, user)
    text_only = _district_visit(make_visit, session, user)
    address = session.get(CaseAddress, text_only.address_id)
    address.location, address.geocode_status, address.precision = None, "pending", None
    session.flush()
    for visit in (placed, text_only):
        _report(client, visit, headers, outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=8))
    _, dispatcher = as_role(Role.DISPATCHER)
    with statements(session) as sent:
        items = client.get("/api/v1/address-proposals", headers=dispatcher).json["items"]
    for _ in range(3):
        _report(client, _district_visit(make_visit, session, user), headers,
                outcome_body("not_home", lat=DOOR[0], lon=DOOR[1], accuracy_m=8))
    with statements(session) as more:
        assert len(client.get("/api/v1/address-proposals", headers=dispatcher).json["items"]) == len(items) + 3
    assert len(more) == len(sent)  # the page, its address and case in one statement: none per proposal
    by_address = {p["address_id"]: p for p in items}
    shown, unplaced = by_address[placed.address_id], by_address[text_only.address_id]
    assert shown["case_external_ref"] == placed.case.external_ref
    assert (shown["address_kind"], shown["address_geocode_status"], shown["address_superseded"]) == \
        ("home", "located", False)
    now = shown["current_position"]
    assert set(now) == {"lat", "lon", "precision", "source", "located_at"}
    assert (round(now["lat"], 4), round(now["lon"], 4), now["precision"], now["source"]) == \
        (CENTRE[0], CENTRE[1], "district", "gazetteer")
    assert (shown["lat"], shown["lon"]) == DOOR  # the proposed door beside it
    assert (unplaced["current_position"], unplaced["address_geocode_status"]) == (None, "pending")
    confirmed = client.post(f"/api/v1/address-proposals/{shown['id']}/confirm", headers=dispatcher).json
    assert (confirmed["current_position"]["precision"], confirmed["current_position"]["source"]) == \
        ("rooftop", "collector")
    assert math.hypot(confirmed["current_position"]["lat"] - DOOR[0], confirmed["current_position"]["lon"] - DOOR[1]) < 1e-7
