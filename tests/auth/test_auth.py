"""Tokens, roles, and users' own data."""
from __future__ import annotations

from datetime import timedelta

from backend.auth.models import Role, User
from backend.auth.passwords import hash_password, verify_password


def test_token_for_correct_password(client, create_user):
    user = create_user(Role.DISPATCHER, username="disp", password="s3cret-pass-phrase")
    response = client.post("/api/v1/auth/token", json={"username": "disp", "password": "s3cret-pass-phrase"})
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["role"] == "dispatcher"
    assert response.json["user_id"] == user.id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['access_token']}"})
    assert me.json["username"] == "disp"


def test_wrong_password_and_unknown_user_look_the_same(client, create_user):
    create_user(Role.DISPATCHER, username="disp2", password="s3cret-pass-phrase")
    wrong = client.post("/api/v1/auth/token", json={"username": "disp2", "password": "nope"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json


def test_token_request_with_wrong_types_is_422_naming_the_field(client):
    response = client.post("/api/v1/auth/token", json={"username": 5, "password": "x"})
    assert response.status_code == 422
    assert "username" in response.json["error"]["fields"]


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


def test_expired_token_is_refused(app, client, create_user, auth_headers):
    user = create_user(Role.DISPATCHER)
    headers = auth_headers(user)
    app.config["TOKEN_TTL_S"] = -1
    try:
        response = client.get("/api/v1/me", headers=headers)
    finally:
        app.config["TOKEN_TTL_S"] = 12 * 3600
    assert response.status_code == 401
    assert "expired" in response.json["error"]["message"]


def test_password_change_revokes_old_tokens(client, as_role, create_user):
    _, admin = as_role(Role.ADMIN)
    user = create_user(Role.DISPATCHER, password="first-password-ok")
    from backend.auth.access import issue_token

    old_token, _ = issue_token(user)
    changed = client.patch(f"/api/v1/users/{user.id}", json={"password": "second-password"}, headers=admin)
    assert changed.status_code == 200
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert response.status_code == 401


def test_deactivated_user_cannot_log_in(client, as_role, create_user):
    _, admin = as_role(Role.ADMIN)
    user = create_user(Role.COLLECTOR, password="collector-pw-strong")
    client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=admin)
    response = client.post("/api/v1/auth/token", json={"username": user.username, "password": "collector-pw-strong"})
    assert response.status_code == 401


def test_passwords_are_argon2id_hashes():
    stored = hash_password("correct-horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct-horse")
    assert not verify_password(stored, "wrong-horse")


def test_admin_creates_a_collector_with_field_profile(client, as_role, session):
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "wang.collector", "password": "long-enough-pw", "role": "collector", "name": "王师傅",
        "phone": "138 0013 8000", "timezone": "Asia/Shanghai", "home": {"lat": 30.66, "lon": 104.07},
        "shift_start": "08:30", "shift_end": "18:00", "max_visits_per_day": 10, "skills": ["sichuanese"],
    })
    assert response.status_code == 201, response.json
    body = response.json
    assert body["home"] == {"lat": 30.66, "lon": 104.07}
    assert body["phone"] == "+8613800138000"
    assert body["skills"] == ["sichuanese"]
    assert "password" not in body and "password_hash" not in body
    assert session.get(User, body["id"]).password_hash.startswith("$argon2id$")


def test_create_user_rejects_bad_fields_by_name(client, as_role):
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "x1", "password": "long-enough-pw", "role": "pilot", "name": "X",
        "timezone": "Mars/Olympus", "home": {"lat": 91, "lon": 104}, "phone": "12",
        "max_visits_per_day": "many", "shift_start": "25:00"})
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert {"role", "timezone", "home.lat", "phone", "max_visits_per_day", "shift_start"} <= set(fields)


def test_shift_must_end_after_it_starts(client, as_role):
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "night", "password": "long-enough-pw", "role": "collector", "name": "N",
        "shift_start": "18:00", "shift_end": "08:00"})
    assert response.status_code == 422
    assert "shift_end" in response.json["error"]["fields"]


def test_duplicate_username_is_409(client, as_role, create_user):
    _, admin = as_role(Role.ADMIN)
    create_user(Role.COLLECTOR, username="taken")
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "taken", "password": "long-enough-pw", "role": "collector", "name": "T"})
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"username": "already taken"}


def test_only_admin_creates_users(client, as_role):
    _, supervisor = as_role(Role.SUPERVISOR)
    response = client.post("/api/v1/users", headers=supervisor, json={
        "username": "sneaky", "password": "long-enough-pw", "role": "admin", "name": "S"})
    assert response.status_code == 403


def test_collector_reads_self_but_not_another_collector(client, as_role, create_user):
    me, headers = as_role(Role.COLLECTOR)
    other = create_user(Role.COLLECTOR)
    assert client.get(f"/api/v1/users/{me.id}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/users/{other.id}", headers=headers)
    assert response.status_code == 403
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_unknown_user_id_is_404(client, as_role):
    _, admin = as_role(Role.ADMIN)
    response = client.get("/api/v1/users/999999", headers=admin)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_dispatcher_lists_collectors_by_role(client, as_role, create_user):
    _, dispatcher = as_role(Role.DISPATCHER)
    collector = create_user(Role.COLLECTOR)
    create_user(Role.TRACER)
    response = client.get("/api/v1/users?role=collector", headers=dispatcher)
    assert response.status_code == 200
    assert {u["role"] for u in response.json["items"]} == {"collector"}
    assert collector.id in {u["id"] for u in response.json["items"]}


def test_token_expiry_is_reported(client, create_user):
    create_user(Role.TRACER, username="tracer1", password="tracer-pass-phrase")
    response = client.post("/api/v1/auth/token", json={"username": "tracer1", "password": "tracer-pass-phrase"})
    from datetime import datetime

    expires = datetime.fromisoformat(response.json["expires_at"])
    assert timedelta(hours=11) < expires - datetime.now(expires.tzinfo) <= timedelta(hours=12)
