"""POST /sync: queued events applied in order, one result each, a failure isolated to its event."""
from __future__ import annotations

import sqlalchemy as sa

from backend.sync import registry as sync_registry
from backend.visits.models import Visit, VisitOutcome, VisitStatus
from tests.visits.conftest import daytime_zone, new_key


def _event(visit, body, key=None):
    return {"idempotency_key": key or new_key(), "type": "outcome", "visit_id": visit.id, **body}


def _visit(make_visit, user):
    return make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": daytime_zone(14)})


def test_partial_failure_does_not_stop_the_rest(client, collector, make_visit, outcome_body, session):
    user, headers = collector
    first, second = _visit(make_visit, user), _visit(make_visit, user)
    events = [_event(first, outcome_body()),
              _event(second, outcome_body("paid")),  # no payment evidence: refused, writes nothing
              _event(second, outcome_body("not_home"))]
    response = client.post("/api/v1/sync", json={"events": events}, headers=headers)
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["idempotency_key"] for r in results] == [e["idempotency_key"] for e in events]
    assert [r["status"] for r in results] == [201, 422, 201]
    assert "payment.amount" in results[1]["error"]["fields"]
    assert results[2]["body"]["visit_status"] == "failed"
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).where(VisitOutcome.visit_id == second.id)) == 1
    assert session.get(Visit, second.id).last_outcome == "not_home"


def test_replayed_events_and_direct_then_queued_are_stored_once(client, collector, make_visit, outcome_body,
                                                                session):
    user, headers = collector
    visit = _visit(make_visit, user)
    body, key = outcome_body(), new_key()
    direct = client.post(f"/api/v1/visits/{visit.id}/outcome", json=body, headers={**headers, "Idempotency-Key": key})
    response = client.post("/api/v1/sync", json={"events": [_event(visit, body, key), _event(visit, body, key)]},
                           headers=headers)
    assert direct.status_code == 201
    assert [r["status"] for r in response.json["results"]] == [200, 200]
    assert response.json["results"][0]["body"] == direct.json
    assert session.scalar(sa.select(sa.func.count()).where(VisitOutcome.visit_id == visit.id)) == 1


def test_bad_events_get_their_own_errors(client, collector, make_visit, outcome_body):
    user, headers = collector
    visit = _visit(make_visit, user)
    events = [{"type": "outcome", "visit_id": visit.id, **outcome_body()},  # no key
              {"idempotency_key": new_key(), "type": "teleport"},
              {"idempotency_key": new_key(), "type": "outcome", **outcome_body()},  # no visit_id
              {"idempotency_key": new_key(), "type": "outcome", "visit_id": 999999, **outcome_body()},
              _event(visit, {**outcome_body(), "lat": 91}),
              "not an object",
              _event(visit, outcome_body())]
    results = client.post("/api/v1/sync", json={"events": events}, headers=headers).json["results"]
    assert [r["status"] for r in results] == [422, 422, 422, 404, 422, 422, 201]
    assert "idempotency_key" in results[0]["error"]["fields"]
    assert "type" in results[1]["error"]["fields"]
    assert "visit_id" in results[2]["error"]["fields"]
    assert "visit_id" in results[3]["error"]["fields"]
    assert "lat" in results[4]["error"]["fields"]


def test_an_unexpected_error_is_isolated(client, collector, make_visit, outcome_body, monkeypatch):
    user, headers = collector
    visit = _visit(make_visit, user)

    def explode(session, user, event):
        raise RuntimeError("boom")

    monkeypatch.setitem(sync_registry._HANDLERS, "test_explode", explode)
    events = [{"idempotency_key": new_key(), "type": "test_explode"}, _event(visit, outcome_body())]
    results = client.post("/api/v1/sync", json={"events": events}, headers=headers).json["results"]
    assert [r["status"] for r in results] == [500, 201]


def test_other_collectors_visit_is_403_in_sync(client, as_role, collector, make_visit, outcome_body):
    user, _ = collector
    visit = _visit(make_visit, user)
    _, other = as_role("collector")
    results = client.post("/api/v1/sync", json={"events": [_event(visit, outcome_body())]}, headers=other).json
    assert results["results"][0]["status"] == 403


def test_body_must_hold_an_events_list(client, collector):
    _, headers = collector
    response = client.post("/api/v1/sync", json={"events": "x"}, headers=headers)
    assert response.status_code == 422
    assert "events" in response.json["error"]["fields"]
    assert client.post("/api/v1/sync", data="[", headers={**headers, "Content-Type": "application/json"}
                       ).status_code == 400
