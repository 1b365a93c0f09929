"""Bad tracing input: 422 naming the field or file, never a 500."""
from __future__ import annotations

from backend.auth.models import Role


def test_json_upload_nested_past_the_parser_is_422_naming_the_file(submit, debtor_case):
    response = submit(debtor_case().id, contacts=b"[" * 100_000)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"contacts"}


def test_case_id_beyond_an_integer_column_is_422(submit):
    response = submit(2**31, contacts=b"name,number\nMum,13800138001\n")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"case_id"}


def test_request_list_case_filter_beyond_an_integer_column_is_422(client, as_role):
    _, headers = as_role(Role.TRACER)
    response = client.get("/api/v1/tracing/requests", query_string={"case_id": 2**31}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"case_id"}
