"""Audit filters beyond what the database holds: 422 naming the parameter, never a 500."""
from __future__ import annotations

from backend.auth.models import Role


def test_actor_id_beyond_an_integer_column_is_422(client, as_role):
    _, headers = as_role(Role.ADMIN)
    response = client.get("/api/v1/audit", query_string={"actor_id": 2**31}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"actor_id"}


def test_offset_beyond_what_offset_arithmetic_holds_is_422(client, as_role):
    _, headers = as_role(Role.ADMIN)
    response = client.get("/api/v1/audit", query_string={"page": 10**19}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"page"}
