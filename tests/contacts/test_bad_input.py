"""Bad contact-log input: 422 naming the field, never a 500."""
from __future__ import annotations

from datetime import datetime

from backend.auth.models import Role


def test_party_beyond_an_integer_column_or_not_an_ascii_number_is_422(post_attempt, debtor_case):
    case = debtor_case()
    for party in (2**31, str(2**31), "²", "１２"):
        response = post_attempt(case, party, datetime.fromisoformat("2026-11-20T10:00:00+08:00"), late_entry=True)
        assert response.status_code == 422, party
        assert set(response.json["error"]["fields"]) == {"party"}


def test_started_at_outside_the_calendar_we_compute_with_is_422(post_attempt, debtor_case):
    case = debtor_case()
    response = post_attempt(case, "debtor", datetime.fromisoformat("9999-12-31T23:59:59+00:00"), late_entry=True)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"started_at"}


def test_page_offset_beyond_offset_arithmetic_is_422(client, dispatcher, debtor_case):
    _, headers = dispatcher
    case = debtor_case()
    response = client.get(f"/api/v1/cases/{case.id}/contact-attempts", query_string={"page": 10**19},
                          headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"page"}


def test_report_portfolio_filter_beyond_an_integer_column_is_422(client, as_role):
    _, headers = as_role(Role.SUPERVISOR)
    for path in ("/api/v1/compliance/follow-up", "/api/v1/compliance/late-entries"):
        response = client.get(path, query_string={"portfolio_id": 2**31}, headers=headers)
        assert response.status_code == 422, path
        assert set(response.json["error"]["fields"]) == {"portfolio_id"}


def test_sync_attempt_case_id_beyond_an_integer_column_is_a_422_result(client, dispatcher):
    _, headers = dispatcher
    event = {"idempotency_key": "attempt-overflow-1", "type": "contact_attempt", "case_id": 2**31, "party": "debtor",
             "channel": "call", "started_at": "2026-11-20T10:00:00+08:00", "result": "no_answer", "late_entry": True}
    response = client.post("/api/v1/sync", json={"events": [event]}, headers=headers)
    assert response.status_code == 200
    result = response.json["results"][0]
    assert result["status"] == 422 and set(result["error"]["fields"]) == {"case_id"}
