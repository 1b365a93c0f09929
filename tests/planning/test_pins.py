"""Pins: a dispatcher's visit-to-collector decision that every plan keeps."""
from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.extensions import db
from backend.visits.models import VisitPin, VisitStatus
from tests.planning.conftest import assert_plan_sound, statements
from tests.visits.conftest import daytime_zone, new_key, plan_day

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
NEAR_A, NEAR_B = (30.70, 104.02), (30.70, 104.08)


def _pin(client, as_role, visit_id, **body):
    _, headers = as_role(Role.DISPATCHER)
    return client.post(f"/api/v1/visits/{visit_id}/pin", json=body, headers=headers)


def _holders(response):
    return {s["visit_id"]: (r["collector_id"], s["sequence"]) for r in response.json["routes"] for s in r["stops"]}


def test_pinned_visit_goes_to_its_collector_and_stays(client, as_role, plan, create_user, make_visit, session):
    near = create_user(Role.COLLECTOR, home={"lat": NEAR_A[0], "lon": NEAR_A[1]})
    far = create_user(Role.COLLECTOR, home={"lat": NEAR_B[0], "lon": NEAR_B[1]})
    visit = make_visit(lat=NEAR_A[0] + 0.002, lon=NEAR_A[1])
    assert _holders(plan())[visit.id][0] == near.id
    pinned = _pin(client, as_role, visit.id, collector_id=far.id)
    assert pinned.status_code == 200 and pinned.json["collector_id"] == far.id
    moved = plan()
    assert _holders(moved)[visit.id][0] == far.id
    change = next(m for c in moved.json["changes"] for m in c["moved"] if m["visit_id"] == visit.id)
    assert (change["from_collector_id"], change["to_collector_id"], change["reason"]) == (near.id, far.id, "pinned")
    assert _holders(plan())[visit.id][0] == far.id
    assert _holders(plan(keep_assignments=False))[visit.id][0] == far.id  # a fresh plan obeys pins too
    assert assert_plan_sound(session, plan_day()) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "visit.pin")) == 1


def test_pinned_position_is_kept(client, as_role, plan, create_user, make_visit):
    user = create_user(Role.COLLECTOR, home={"lat": NEAR_A[0], "lon": NEAR_A[1]})
    visits = [make_visit(lat=NEAR_A[0] + d, lon=NEAR_A[1]) for d in (0.002, 0.004, 0.006)]
    first = _holders(plan())
    last = max(visits, key=lambda v: first[v.id][1])
    assert _pin(client, as_role, last.id, collector_id=user.id, position=1).status_code == 200
    assert _holders(plan())[last.id] == (user.id, 1)


def test_unpin(client, as_role, create_user, make_visit):
    user = create_user(Role.COLLECTOR)
    visit = make_visit()
    _pin(client, as_role, visit.id, collector_id=user.id)
    _, headers = as_role(Role.DISPATCHER)
    removed = client.delete(f"/api/v1/visits/{visit.id}/pin", headers=headers)
    assert (removed.status_code, removed.json["collector_id"]) == (200, user.id)
    again = client.delete(f"/api/v1/visits/{visit.id}/pin", headers=headers)
    assert again.status_code == 404


def test_pin_refuses_what_cannot_hold(client, as_role, create_user, make_visit):
    plain = create_user(Role.COLLECTOR)
    dispatcher = create_user(Role.DISPATCHER)
    legal = make_visit(required_skills=["legal"])
    refused = _pin(client, as_role, legal.id, collector_id=plain.id)
    assert (refused.status_code, list(refused.json["error"]["fields"])) == (409, ["collector_id"])
    not_collector = _pin(client, as_role, legal.id, collector_id=dispatcher.id)
    assert (not_collector.status_code, list(not_collector.json["error"]["fields"])) == (422, ["collector_id"])
    assert _pin(client, as_role, legal.id, collector_id=999999).status_code == 404
    assert _pin(client, as_role, 999999, collector_id=plain.id).status_code == 404
    bad_position = _pin(client, as_role, legal.id, collector_id=plain.id, position=0)
    assert (bad_position.status_code, list(bad_position.json["error"]["fields"])) == (422, ["position"])
    done = make_visit(VisitStatus.DONE, collector=plain)
    assert _pin(client, as_role, done.id, collector_id=plain.id).status_code == 409


def test_a_misfit_is_the_same_409_on_pin_and_assign(client, as_role, create_user, make_visit, session):
    solo = create_user(Role.COLLECTOR)
    two = make_visit()
    two.requires_two = True
    session.flush()
    legal = make_visit(required_skills=["legal"])
    _, headers = as_role(Role.DISPATCHER)
    for visit, code in ((two, "needs_two_person_crew"), (legal, "missing_skills")):
        pinned = _pin(client, as_role, visit.id, collector_id=solo.id)
        assigned = client.post(f"/api/v1/visits/{visit.id}/assign",
                               json={"collector_id": solo.id, "date": plan_day().isoformat()}, headers=headers)
        for response in (pinned, assigned):
            assert (response.status_code, response.json["error"]["code"]) == (409, code)
            assert list(response.json["error"]["fields"]) == ["collector_id"]
        assert pinned.json["error"]["message"] == assigned.json["error"]["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "visit.pin")) == 0


def test_collectors_cannot_pin(client, create_user, make_visit, auth_headers):
    user = create_user(Role.COLLECTOR)
    visit = make_visit()
    response = client.post(f"/api/v1/visits/{visit.id}/pin", json={"collector_id": user.id},
                           headers=auth_headers(user))
    assert response.status_code == 403


def test_visit_pinned_to_someone_outside_the_plan_is_not_given_away(client, as_role, plan, create_user,
                                                                     make_visit):
    planned = create_user(Role.COLLECTOR)
    absent = create_user(Role.COLLECTOR)
    visit = make_visit()
    _pin(client, as_role, visit.id, collector_id=absent.id)
    for keep in (True, False):
        response = plan(collector_ids=[planned.id], keep_assignments=keep)
        assert visit.id not in _holders(response)
        assert {u["visit_id"]: u["reason"] for u in response.json["unassigned"]}[visit.id] == \
            "pinned_to_collector_not_in_plan"


def test_every_dispatcher_reads_pins_on_visits_the_map_and_routes(client, as_role, plan, create_user, make_visit):
    user = create_user(Role.COLLECTOR, home={"lat": NEAR_A[0], "lon": NEAR_A[1]})
    pinned, other = make_visit(lat=NEAR_A[0] + 0.002, lon=NEAR_A[1]), make_visit(lat=NEAR_A[0] + 0.004, lon=NEAR_A[1])
    set_by = _pin(client, as_role, pinned.id, collector_id=user.id, position=1).json
    reader, headers = as_role(Role.SUPERVISOR)  # someone else than the dispatcher who pinned it
    assert set_by["pinned_by_id"] != reader.id
    assert client.get(f"/api/v1/visits/{pinned.id}", headers=headers).json["pin"] == set_by
    assert client.get(f"/api/v1/visits/{other.id}", headers=headers).json["pin"] is None
    listed = client.get("/api/v1/visits?pinned=true", headers=headers).json
    assert [(v["id"], v["pin"]) for v in listed["items"]] == [(pinned.id, set_by)]
    rest = client.get("/api/v1/visits?pinned=false&page_size=1000", headers=headers).json["items"]
    assert other.id in {v["id"] for v in rest} and pinned.id not in {v["id"] for v in rest}
    features = client.get("/api/v1/visits.geojson?pinned=true", headers=headers).json["features"]
    assert [(f["id"], f["properties"]["pin"]) for f in features] == [(pinned.id, set_by)]
    both = client.get("/api/v1/visits.geojson?page_size=1000", headers=headers).json["features"]
    assert {f["id"]: f["properties"]["pin"] for f in both}[other.id] is None

    route_id = plan().json["routes"][0]["id"]
    stops = {s["visit_id"]: s["pin"] for s in client.get(f"/api/v1/routes/{route_id}", headers=headers).json["stops"]}
    assert stops == {pinned.id: set_by, other.id: None}
    _, dispatcher = as_role(Role.DISPATCHER)
    client.delete(f"/api/v1/visits/{pinned.id}/pin", headers=dispatcher)
    assert client.get(f"/api/v1/visits/{pinned.id}", headers=headers).json["pin"] is None
    assert client.get("/api/v1/visits?pinned=true", headers=headers).json["items"] == []
    assert [s["pin"] for s in client.get(f"/api/v1/routes/{route_id}", headers=headers).json["stops"]] == [None, None]


def test_pins_are_read_with_the_list_not_one_query_per_visit(client, as_role, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR)
    _, headers = as_role(Role.SUPERVISOR)
    counts, pinned = [], 0
    for more in (1, 6):
        for visit in [make_visit() for _ in range(more)]:
            _pin(client, as_role, visit.id, collector_id=user.id)
        pinned += more
        with statements(session) as sent:
            assert len(client.get("/api/v1/visits?pinned=true", headers=headers).json["items"]) == pinned
        counts.append(len(sent))
    assert counts[0] == counts[1] > 0  # 1 pinned visit or 7: the same statements


def test_a_closed_visit_loses_its_pin_audited(client, as_role, create_user, make_visit, session, outcome_body):
    """Cancelled, done by its collector, or closed by a late report after it moved: the pin goes with it,
    audited as dropped (what it was, who closed the visit), and the pinned list shows open visits only."""
    reporter, phone = as_role(Role.COLLECTOR)
    other = create_user(Role.COLLECTOR)
    dispatcher, headers = as_role(Role.DISPATCHER)
    day = plan_day()
    cancelled, done, late, kept = (make_visit(VisitStatus.ASSIGNED, collector=reporter, day=day,
                                              case_fields={"timezone": daytime_zone(14)}) for _ in range(4))
    pinners = {}
    for visit in (cancelled, done, late, kept):
        pinned = _pin(client, as_role, visit.id, collector_id=reporter.id)
        assert pinned.status_code == 200
        pinners[visit.id] = pinned.json["pinned_by_id"]
    answer = client.post(f"/api/v1/visits/{cancelled.id}/cancel", json={"reason": "debtor paid"}, headers=headers)
    assert (answer.status_code, answer.json["pin"]) == (200, None)
    assert client.post(f"/api/v1/visits/{done.id}/outcome", json=outcome_body(),
                       headers={**phone, "Idempotency-Key": new_key()}).status_code == 201
    moved = client.post(f"/api/v1/visits/{late.id}/assign", json={"collector_id": other.id, "date": day.isoformat()},
                        headers=headers)
    assert moved.status_code == 200 and moved.json["pin"]["collector_id"] == reporter.id  # moving keeps the pin
    assert client.post(f"/api/v1/visits/{late.id}/outcome", json=outcome_body("not_home"),
                       headers={**phone, "Idempotency-Key": new_key()}).json["flags"] == ["reassigned"]

    listed = client.get("/api/v1/visits?pinned=true", headers=headers).json["items"]
    assert [v["id"] for v in listed] == [kept.id]
    assert {v["id"] for v in client.get("/api/v1/visits?pinned=false&page_size=1000", headers=headers).json["items"]} \
        >= {cancelled.id, done.id, late.id}
    assert [f["id"] for f in client.get("/api/v1/visits.geojson?pinned=true", headers=headers).json["features"]] == \
        [kept.id]
    for visit in (cancelled, done, late):
        assert client.get(f"/api/v1/visits/{visit.id}", headers=headers).json["pin"] is None
    drops = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "visit.pin_dropped")
                            .order_by(AuditEvent.id)).all()
    def was(visit):
        return {"collector_id": reporter.id, "position": None, "pinned_by_id": pinners[visit.id]}

    assert [(e.subject_id, e.actor_id, e.details) for e in drops] == [
        (str(cancelled.id), dispatcher.id, {**was(cancelled), "closed": "cancelled"}),
        (str(done.id), reporter.id, {**was(done), "closed": "done"}),
        (str(late.id), reporter.id, {**was(late), "closed": "failed"})]
    assert not session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "visit.unpin"))  # nobody unpinned anything
    # A second report on a visit already closed is refused, and removes nothing twice.
    assert client.post(f"/api/v1/visits/{done.id}/outcome", json=outcome_body(),
                       headers={**phone, "Idempotency-Key": new_key()}).status_code == 409
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "visit.pin_dropped")) == 3


def test_a_door_report_deletes_a_pin_only_where_there_is_one(client, as_role, create_user, make_visit, session,
                                                            outcome_body, app):
    """Every report from the field closes its visit: the pin's removal costs a statement only when it has one
    (the report's own statement reads whether it has)."""
    reporter, phone = as_role(Role.COLLECTOR)
    plain, pinned = (make_visit(VisitStatus.ASSIGNED, collector=reporter, day=plan_day(),
                                case_fields={"timezone": daytime_zone(14)}) for _ in range(2))
    assert _pin(client, as_role, pinned.id, collector_id=reporter.id).status_code == 200
    deletes = []

    def count(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("DELETE FROM VISIT_PINS"):
            deletes.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for visit in (plain, pinned):
            assert client.post(f"/api/v1/visits/{visit.id}/outcome", json=outcome_body(),
                               headers={**phone, "Idempotency-Key": new_key()}).status_code == 201
            deletes.append(visit.id)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert deletes[0] == plain.id and isinstance(deletes[1], str) and deletes[2] == pinned.id
    assert session.get(VisitPin, pinned.id) is None


def test_the_map_writes_a_pins_time_as_every_other_answer_does(client, as_role, create_user, make_visit, session):
    """json_build_object wrote .5767 where the schemas write .576700 (and a whole second with no fraction)."""
    user = create_user(Role.COLLECTOR)
    _, headers = as_role(Role.SUPERVISOR)
    for moment in ("2026-12-07T04:57:07.576700+00:00", "2026-12-07T04:57:07+00:00", "2026-12-07T04:57:07.000001+00:00"):
        visit = make_visit()
        _pin(client, as_role, visit.id, collector_id=user.id)
        session.execute(sa.update(VisitPin).where(VisitPin.visit_id == visit.id)
                        .values(created_at=datetime.fromisoformat(moment)))
        session.expire_all()
        listed = client.get(f"/api/v1/visits/{visit.id}", headers=headers).json["pin"]
        mapped = client.get("/api/v1/visits.geojson?pinned=true&page_size=1000", headers=headers).json["features"]
        assert listed["created_at"] == moment
        assert {f["id"]: f["properties"]["pin"] for f in mapped}[visit.id] == listed


def test_the_migration_drops_the_pins_closed_visits_kept(client, as_role, create_user, make_visit, session):
    """Pins left on visits closed before visits lost their pin on closing: the migration removes them, audited."""
    spec = importlib.util.spec_from_file_location("drop_closed_pins", MIGRATIONS / "20261207_0072_drop_pins_of_closed_visits.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    user = create_user(Role.COLLECTOR)
    kept, closed = make_visit(), make_visit()
    for visit in (kept, closed):
        pinner_id = _pin(client, as_role, visit.id, collector_id=user.id).json["pinned_by_id"]
    closed.status = VisitStatus.DONE  # closed the old way: the pin stayed
    session.flush()
    session.execute(sa.text(migration.DROP_CLOSED_PINS))
    assert session.scalars(sa.select(VisitPin.visit_id)).all() == [kept.id]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "visit.pin_dropped"))
    assert (event.subject_id, event.actor_id, event.details) == (
        str(closed.id), None, {"collector_id": user.id, "position": None, "pinned_by_id": pinner_id, "closed": "done"})


def test_route_geojson_stops_carry_their_pin(client, as_role, plan, create_user, make_visit):
    """A route's GeoJSON and the day's map show each stop's pin as route stops and GET /visits do."""
    user = create_user(Role.COLLECTOR, home={"lat": NEAR_A[0], "lon": NEAR_A[1]})
    pinned, other = make_visit(lat=NEAR_A[0] + 0.002, lon=NEAR_A[1]), make_visit(lat=NEAR_A[0] + 0.004, lon=NEAR_A[1])
    set_by = _pin(client, as_role, pinned.id, collector_id=user.id, position=1).json
    route_id = plan().json["routes"][0]["id"]
    _, headers = as_role(Role.SUPERVISOR)
    listed = {s["visit_id"]: s["pin"] for s in client.get(f"/api/v1/routes/{route_id}", headers=headers).json["stops"]}
    assert listed == {pinned.id: set_by, other.id: None}
    for path in (f"/api/v1/routes/{route_id}.geojson", f"/api/v1/routes.geojson?date={plan_day().isoformat()}"):
        features = client.get(path, headers=headers).json["features"]
        stops = {f["properties"]["visit_id"]: f["properties"]["pin"] for f in features
                 if f["properties"]["kind"] == "stop"}
        assert stops == listed, path
    _, dispatcher = as_role(Role.DISPATCHER)
    client.delete(f"/api/v1/visits/{pinned.id}/pin", headers=dispatcher)
    features = client.get(f"/api/v1/routes/{route_id}.geojson", headers=headers).json["features"]
    assert [f["properties"]["pin"] for f in features if f["properties"]["kind"] == "stop"] == [None, None]
