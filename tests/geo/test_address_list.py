"""The addresses awaiting a position, across cases: what the address review works through, one page at a time."""
from __future__ import annotations

from backend.auth.models import Role
from backend.cases.models import CaseAddress
from backend.timeutil import utcnow


def _awaiting(create_case, session):
    """A case placed to the rooftop, one whose address is text only, one placed only to its district,
    and one whose text-only address was replaced (history) by a placed one."""
    placed = create_case()
    session.get(CaseAddress, placed.addresses[0].id).precision = "rooftop"
    text_only, district, moved = create_case(), create_case(), create_case()
    for case, precision in ((text_only, None), (moved, None), (district, "district")):
        address = session.get(CaseAddress, case.addresses[0].id)
        address.precision = precision
        if precision is None:
            address.location, address.geocode_status = None, "pending"
    old = session.get(CaseAddress, moved.addresses[0].id)
    new = CaseAddress(case_id=moved.id, kind="home", text="成都市青羊区新址1号", source="import", precision="rooftop",
                      location=placed.addresses[0].location)
    session.add(new)
    session.flush()
    old.superseded_at, old.superseded_by_id = utcnow(), new.id
    session.flush()
    return placed, text_only, district, new


def test_addresses_awaiting_a_position_are_listed_with_their_case_page_by_page(client, as_role, create_case,
                                                                                session):
    placed, text_only, district, moved_to = _awaiting(create_case, session)
    _, headers = as_role(Role.DISPATCHER)
    body = client.get("/api/v1/addresses?awaiting_position=true", headers=headers).json
    assert (body["total"], body["page"], body["page_size"]) == (2, 1, 100)
    first, second = body["items"]
    assert {k: first[k] for k in ("case_id", "case_external_ref", "debtor_name", "kind", "geocode_status",
                                  "precision", "lat", "lon")} == \
        {"case_id": text_only.id, "case_external_ref": text_only.external_ref, "debtor_name": text_only.debtor_name,
         "kind": "home", "geocode_status": "pending", "precision": None, "lat": None, "lon": None}
    assert first["text"] == text_only.addresses[0].text
    assert (second["case_id"], second["geocode_status"], second["precision"]) == (district.id, "located", "district")
    paged = client.get("/api/v1/addresses?awaiting_position=true&page=2&page_size=1", headers=headers).json
    assert ([a["id"] for a in paged["items"]], paged["total"]) == ([second["id"]], 2)
    others = {a["id"] for a in client.get("/api/v1/addresses?awaiting_position=false", headers=headers).json["items"]}
    assert others == {placed.addresses[0].id, moved_to.id}  # the replaced text-only address is history
    every = client.get("/api/v1/addresses", headers=headers).json
    assert every["total"] == 4


def test_only_dispatchers_supervisors_and_admins_list_addresses(client, as_role):
    for role in (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN):
        assert client.get("/api/v1/addresses", headers=as_role(role)[1]).status_code == 200
    for role in (Role.COLLECTOR, Role.TRACER):
        assert client.get("/api/v1/addresses", headers=as_role(role)[1]).status_code == 403
    bad = client.get("/api/v1/addresses?awaiting_position=perhaps", headers=as_role(Role.DISPATCHER)[1])
    assert (bad.status_code, list(bad.json["error"]["fields"])) == (422, ["awaiting_position"])


def test_a_position_of_unknown_precision_counts_as_routable_in_every_list(client, as_role, make_visit, session):
    """The not-located filter is never NULL: a placed address whose precision nobody recorded is in the
    routable half of the address, case and visit lists (as planning routes it), not missing from both halves."""
    visit = make_visit()
    address = session.get(CaseAddress, visit.address_id)
    address.precision = None
    session.flush()
    headers = as_role(Role.DISPATCHER)[1]

    def ids(path, flag):
        return {item["id"] for item in client.get(f"{path}={flag}", headers=headers).json["items"]}

    assert (address.id in ids("/api/v1/addresses?awaiting_position", "false"),
            address.id in ids("/api/v1/addresses?awaiting_position", "true")) == (True, False)
    assert (visit.case_id in ids("/api/v1/cases?not_located", "false"),
            visit.case_id in ids("/api/v1/cases?not_located", "true")) == (True, False)
    assert (visit.id in ids("/api/v1/visits?not_located", "false"),
            visit.id in ids("/api/v1/visits?not_located", "true")) == (True, False)
