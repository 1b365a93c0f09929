"""Bad user fields: 422 naming the field, never a 500."""
from __future__ import annotations

from backend.auth.models import Role


def test_timezone_name_too_long_for_a_path_is_422(client, as_role):
    _, headers = as_role(Role.ADMIN)
    body = {"username": "tzlong", "password": "long-password", "role": "collector", "name": "N",
            "timezone": "x" * 300}
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"timezone"}


def test_patch_home_without_lon_is_422(client, as_role, create_user):
    _, headers = as_role(Role.ADMIN)
    user = create_user(Role.COLLECTOR)
    response = client.patch(f"/api/v1/users/{user.id}", json={"home": {"lat": 30.6}}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"home"}
