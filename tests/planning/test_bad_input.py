"""Bad plan input: 422 naming the field, never a 500."""
from __future__ import annotations

from backend.auth.models import Role


def test_plan_date_outside_the_calendar_we_compute_with_is_422(plan):
    response = plan(day=None, **{"date": "9999-12-31"})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"date"}


def test_collector_id_beyond_an_integer_column_is_422(plan):
    response = plan(collector_ids=[2**31])
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"collector_ids.0"}


def test_route_filter_beyond_an_integer_column_is_422(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/routes", query_string={"collector_id": 2**31}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"collector_id"}
