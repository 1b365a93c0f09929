"""Bad input anywhere in the API: a 4xx naming the problem, never a 500 (found by bench/fuzz_api.py)."""
from __future__ import annotations

from backend.auth.models import Role

BEYOND_INTEGER = 2**31  # one past what a PostgreSQL integer id column holds


def test_path_id_beyond_an_integer_column_is_404(client, as_role):
    _, headers = as_role(Role.ADMIN)
    for path in (f"/api/v1/cases/{BEYOND_INTEGER}", f"/api/v1/jobs/{10**30}", f"/api/v1/users/{BEYOND_INTEGER}"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_json_nested_past_the_parser_is_400(client, as_role):
    _, headers = as_role(Role.ADMIN)
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/v1/users", "/api/v1/sync"):
        response = client.post(path, data=deep, content_type="application/json", headers=headers)
        assert response.status_code == 400, path
        assert response.json["error"]["code"] == "malformed_json"
        assert response.json["error"]["fields"] == {"_body": "nested too deeply"}


def test_json_body_read_without_a_json_content_type_still_refuses_deep_nesting(client, as_role):
    _, headers = as_role(Role.COLLECTOR)
    response = client.post("/api/v1/sync", data=b"[" * 100_000, content_type="text/plain", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"_body": "nested too deeply"}


def test_nul_in_json_text_is_422_naming_the_field(client, as_role):
    _, headers = as_role(Role.ADMIN)
    response = client.post("/api/v1/portfolios", json={"code": "nul", "creditor": "a\x00b"}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"creditor"}


def test_nul_in_a_nested_json_key_is_422_naming_it(client, as_role):
    _, headers = as_role(Role.ADMIN)
    response = client.post("/api/v1/portfolios", json={"code": "nulkey", "creditor": "c", "overrides": {"\x00": 1}},
                           headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"overrides.\x00"}


def test_lone_surrogate_in_json_text_is_422_naming_the_field(client, as_role):
    _, headers = as_role(Role.ADMIN)
    body = b'{"code": "surrogate", "creditor": "\\ud800"}'
    response = client.post("/api/v1/portfolios", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"creditor"}


def test_nul_in_a_query_parameter_is_422_naming_it(client, as_role):
    _, headers = as_role(Role.ADMIN)
    response = client.get("/api/v1/cases", query_string={"q": "a\x00"}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"q"}


def test_error_responses_are_documented_in_the_shape_they_have(client):
    doc = client.get("/api/v1/openapi.json").json
    error = doc["components"]["schemas"]["Error"]
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["error"]
    assert {"code", "message", "fields"} <= set(detail["properties"])
    assert detail["additionalProperties"] is True  # rules may add context such as `until`


def test_json_nested_just_within_the_parser_is_checked_without_a_500(client, as_role):
    _, headers = as_role(Role.ADMIN)
    for depth in (900, 990):
        deep = b"[" * depth + b'"\\u0000"' + b"]" * depth
        response = client.post("/api/v1/portfolios", data=deep, content_type="application/json", headers=headers)
        assert response.status_code in (400, 422), depth
