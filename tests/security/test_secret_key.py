"""Finding 2: the app refuses to start on a missing, published or short SECRET_KEY (not under tests)."""
from __future__ import annotations

import secrets

import pytest

from backend import create_app
from backend.config import InsecureConfiguration, check_secret_key


@pytest.mark.parametrize("key, why", [
    (None, "not set"),
    ("", "not set"),
    ("dev-only-change-me", "published default"),
    ("short-but-random-Zq81", "bytes"),
])
def test_app_refuses_to_start_without_a_real_secret_key(key, why):
    with pytest.raises(InsecureConfiguration) as refused:
        create_app({"SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nowhere/none"})
    assert "SECRET_KEY" in str(refused.value) and why in str(refused.value)


def test_a_random_key_of_32_bytes_or_more_is_accepted():
    check_secret_key({"SECRET_KEY": secrets.token_urlsafe(32)})


def test_the_test_configuration_may_use_any_key():
    check_secret_key({"TESTING": True, "SECRET_KEY": "x"})


def test_a_token_forged_with_the_old_public_key_is_refused(client):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("dev-only-change-me", salt="fieldtrace-access-token").dumps({"uid": 1, "v": 1})
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
