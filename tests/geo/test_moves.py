"""Moves: a different home address replaces the current one, kept as history; open visits follow it."""
from __future__ import annotations

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.cases.models import CaseAddress
from backend.planning.models import RouteStop
from backend.visits.models import Visit, VisitStatus
from tests.cases.test_import import good_case
from tests.geo.conftest import KEHUA, case_row


def _reimport(client, headers, case, text, **address):
    row = case_row(case.external_ref, text, **address)
    response = client.post("/api/v1/cases/import", json=[row], headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def test_reimport_with_a_new_home_moves_the_case_and_its_open_visits(client, as_role, session, make_visit,
                                                                   create_user, plan, no_geocoder, job_ids):
    collector = create_user(Role.COLLECTOR)
    planned = make_visit()
    case = planned.case
    waiting = make_visit(case=case, kind="locate")
    done = make_visit(VisitStatus.DONE, case=case)
    old_address_id = planned.address_id
    routed = plan(collector_ids=[collector.id]).json
    assert session.scalar(sa.select(sa.func.count()).where(RouteStop.visit_id == planned.id)) == 1, routed
    _, headers = as_role(Role.DISPATCHER)

    report = _reimport(client, headers, case, "四川省成都市锦江区春熙路1号", lat=30.6540, lon=104.0800)

    [moved] = report["moved"]
    assert (moved["case_id"], moved["from_address_ids"]) == (case.id, [old_address_id])
    assert sorted(moved["visit_ids"]) == sorted([planned.id, waiting.id])
    session.expire_all()
    old = session.get(CaseAddress, old_address_id)
    assert old.superseded_at is not None and old.superseded_by_id == moved["to_address_id"]
    for visit_id in (planned.id, waiting.id):
        visit = session.get(Visit, visit_id)
        assert (visit.address_id, visit.moved_from_address_id) == (moved["to_address_id"], old_address_id)
        assert visit.address_moved_at is not None
    assert session.get(Visit, done.id).address_id == old_address_id  # history stays where it happened
    assert session.scalar(sa.select(sa.func.count()).where(RouteStop.visit_id == planned.id)) == 0
    listed = client.get(f"/api/v1/visits/{planned.id}", headers=headers).json
    assert listed["address_moved_at"] is not None and listed["address"]["text"] == "四川省成都市锦江区春熙路1号"


def test_history_keeps_the_old_address_with_its_dates(client, as_role, create_case, no_geocoder, job_ids):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    _reimport(client, headers, case, KEHUA)
    history = client.get(f"/api/v1/cases/{case.id}/addresses", headers=headers).json
    assert history["total"] == 2
    newest, oldest = history["items"]
    assert (newest["text"], newest["current"], newest["geocode_status"]) == (KEHUA, True, "pending")
    assert oldest["current"] is False and oldest["superseded_at"] is not None
    current = client.get(f"/api/v1/cases/{case.id}", headers=headers).json["addresses"]
    assert [a["text"] for a in current] == [KEHUA]


def test_same_address_again_is_not_a_move(client, as_role, create_case, job_ids):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    text = case.addresses[0].text
    report = _reimport(client, headers, case, text, lat=30.6571, lon=104.0658)
    assert report["moved"] == [] and report["pending_geocode"] == 0


def test_patch_with_new_text_moves_and_patch_with_position_fixes(client, as_role, session, make_visit, no_geocoder,
                                                                 job_ids):
    visit = make_visit()
    _, headers = as_role(Role.DISPATCHER)
    url = f"/api/v1/cases/{visit.case_id}/addresses/{visit.address_id}"
    moved = client.patch(url, json={"text": KEHUA}, headers=headers)
    assert moved.status_code == 200, moved.json
    assert moved.json["moved_visit_ids"] == [visit.id] and moved.json["geocode_job_id"] is not None
    new_id = moved.json["address"]["id"]
    stale = client.patch(url, json={"lat": 30.6, "lon": 104.0}, headers=headers)
    assert (stale.status_code, stale.json["error"]["code"]) == (409, "address_superseded")
    fixed = client.patch(f"/api/v1/cases/{visit.case_id}/addresses/{new_id}",
                         json={"lat": 30.6318, "lon": 104.0763}, headers=headers).json["address"]
    assert (fixed["source"], fixed["precision"], fixed["geocode_status"]) == ("dispatcher", "rooftop", "located")
    actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {"case.address_patch"} <= actions


def test_patching_the_text_of_an_other_address_replaces_only_that_one(client, as_role, session, create_case,
                                                                       no_geocoder, job_ids):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    url = f"/api/v1/cases/{case.id}/addresses"
    edited, kept = (client.post(url, json={"kind": "other", "text": text, "lat": 30.65, "lon": 104.07},
                                headers=headers).json["address"]["id"]
                    for text in ("成都市青羊区西大街1号", "成都市金牛区一环路北段2号"))

    patched = client.patch(f"{url}/{edited}", json={"text": "成都市青羊区西大街11号"}, headers=headers)

    assert patched.status_code == 200, patched.json
    new_id = patched.json["address"]["id"]
    assert patched.json["moved_from_address_ids"] == [edited]
    current = [a for a in client.get(url, headers=headers).json["items"] if a["current"] and a["kind"] == "other"]
    assert sorted(a["id"] for a in current) == sorted([new_id, kept])
    session.expire_all()
    old = session.get(CaseAddress, edited)
    assert (old.superseded_by_id, old.text) == (new_id, "成都市青羊区西大街1号")
    assert session.get(CaseAddress, kept).superseded_at is None


def test_patching_an_other_address_to_the_text_of_another_merges_them(client, as_role, session, create_case,
                                                                      no_geocoder, job_ids):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    url = f"/api/v1/cases/{case.id}/addresses"
    edited, kept = (client.post(url, json={"kind": "other", "text": text}, headers=headers).json["address"]["id"]
                    for text in ("成都市青羊区西大街1号", "成都市金牛区一环路北段2号"))

    patched = client.patch(f"{url}/{edited}", json={"text": "成都市金牛区一环路北段2号"}, headers=headers)

    assert patched.status_code == 200, patched.json
    assert (patched.json["address"]["id"], patched.json["moved_from_address_ids"]) == (kept, [edited])
    current = [a["id"] for a in client.get(url, headers=headers).json["items"] if a["current"] and a["kind"] == "other"]
    assert current == [kept]
    session.expire_all()
    assert session.get(CaseAddress, edited).superseded_by_id == kept


def test_post_address_without_text_is_a_422_naming_text(client, as_role, create_case):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    response = client.post(f"/api/v1/cases/{case.id}/addresses", json={"kind": "home"}, headers=headers)
    assert response.status_code == 422 and "text" in str(response.json["error"]["fields"])


# NFKC turns this one character into 18 ("صلى الله عليه وسلم", 15 once spaces go): 40 of them normalise to
# 600 characters, well under the 500 a request may send.
GROWS = "成都市武侯区" + "\ufdfa" * 40


def test_address_text_that_grows_past_its_column_when_normalised_is_a_422(client, as_role, create_case):
    case = create_case()
    _, headers = as_role(Role.DISPATCHER)
    posted = client.post(f"/api/v1/cases/{case.id}/addresses", json={"kind": "home", "text": GROWS}, headers=headers)
    assert posted.status_code == 422 and "text" in posted.json["error"]["fields"]
    address_id = client.get(f"/api/v1/cases/{case.id}/addresses", headers=headers).json["items"][0]["id"]
    for text in (GROWS, "   "):
        patched = client.patch(f"/api/v1/cases/{case.id}/addresses/{address_id}", json={"text": text}, headers=headers)
        assert patched.status_code == 422 and "text" in patched.json["error"]["fields"]


def test_an_import_row_with_such_text_is_rejected_alone(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    rows = [good_case(ref, addresses=[{"kind": "home", "text": text}])
            for ref, text in (("GROWS-1", GROWS), ("FINE-1", "四川省成都市武侯区科华北路65号"))]
    body = client.post("/api/v1/cases/import", json=rows, headers=headers).json
    assert (body["created"], body["rejected_rows"]) == (1, 1)
    assert body["rejected"][0]["field"] == "addresses.0.text"
