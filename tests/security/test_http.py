"""Findings 1 and 13: body limits before any parsing, the storable-text check after authentication,
/health for the public, security headers, literal search text."""
from __future__ import annotations

import io
import time

import pytest

from backend.auth.models import Role
from backend.http import body_limit

MIB = 1024 * 1024


class CountingStream(io.RawIOBase):
    """A request body of `size` bytes that records how much of it the server read."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):  # the test client measures and rewinds the body before sending it
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"[" * n
        self.position += n
        self.read_bytes += n
        return n


def test_unauthenticated_30_mib_body_is_413_at_once_without_reading_it(client):
    body = CountingStream(30 * MIB)
    started = time.perf_counter()
    response = client.post("/api/v1/health", input_stream=body, content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": str(30 * MIB)})
    elapsed = time.perf_counter() - started
    assert response.status_code == 413  # not the 405 after walking the body, as before
    assert response.json["error"]["code"] == "too_large"
    assert body.read_bytes == 0  # nothing parsed: not a byte of the body was read
    assert elapsed < 0.5, elapsed


def test_body_without_a_length_is_cut_off_at_the_limit(client):
    body = CountingStream(8 * MIB)
    response = client.post("/api/v1/auth/token", input_stream=body, content_type="application/json",
                           environ_overrides={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                                              "wsgi.input_terminated": True})
    assert response.status_code == 413
    assert body.read_bytes <= MIB + 64 * 1024  # read up to the limit (one buffer past it), never all 8 MiB


def test_json_endpoints_take_1_mib_and_the_two_uploads_their_own(app, client, as_role):
    with app.test_request_context("/api/v1/users", method="POST"):
        assert body_limit() == MIB
    with app.test_request_context("/api/v1/cases/import", method="POST"):
        assert body_limit() == app.config["CASES_IMPORT_MAX_BYTES"] > MIB
    with app.test_request_context("/api/v1/tracing/requests", method="POST"):
        assert body_limit() == app.config["TRACING_UPLOAD_MAX_BYTES"] > MIB
    _, headers = as_role(Role.ADMIN)
    big = b'{"name": "' + b"x" * (MIB + 10) + b'"}'
    response = client.post("/api/v1/users", data=big, content_type="application/json", headers=headers)
    assert response.status_code == 413
    assert response.json["error"]["fields"] == {"_body": f"the request is larger than {MIB} bytes"}


def test_an_upload_view_declares_its_limit_for_its_own_method_only(app):
    with app.test_request_context("/api/v1/tracing/requests", method="GET"):
        assert body_limit() == MIB
    with app.test_request_context("/api/v1/cases/import", method="PUT"):  # no such method: a 405, JSON's limit
        assert body_limit() == MIB


def test_an_upload_over_its_declared_limit_is_413_before_authentication(client, app):
    limit = app.config["CASES_IMPORT_MAX_BYTES"]
    over = CountingStream(limit + 1)
    response = client.post("/api/v1/cases/import", input_stream=over, content_type="text/csv",
                           environ_overrides={"CONTENT_LENGTH": str(limit + 1)})
    assert (response.status_code, over.read_bytes) == (413, 0)
    assert response.json["error"]["fields"] == {"_body": f"the request is larger than {limit} bytes"}
    under = CountingStream(2 * MIB)  # over JSON's limit, within the upload's: on to authentication
    response = client.post("/api/v1/cases/import", input_stream=under, content_type="text/csv",
                           environ_overrides={"CONTENT_LENGTH": str(2 * MIB)})
    assert response.status_code == 401


def test_unstorable_text_is_checked_only_after_authentication(client, as_role):
    body = {"code": "nul", "creditor": "a\x00b"}
    assert client.post("/api/v1/portfolios", json=body).status_code == 401
    _, dispatcher = as_role(Role.DISPATCHER)
    assert client.post("/api/v1/portfolios", json=body, headers=dispatcher).status_code == 403
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/portfolios", json=body, headers=admin)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"creditor"}


def test_unstorable_text_deep_in_a_document_names_its_path(client, as_role):
    _, admin = as_role(Role.ADMIN)
    body = {"code": "deep", "creditor": "c", "overrides": {"contact.quiet_start": "2\x002:00"}}
    response = client.post("/api/v1/portfolios", json=body, headers=admin)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"overrides.contact.quiet_start"}


def test_health_tells_the_public_only_whether_it_is_ok(client, as_role):
    anonymous = client.get("/api/v1/health")
    assert set(anonymous.json) == {"ok"}
    _, dispatcher = as_role(Role.DISPATCHER)
    assert set(client.get("/api/v1/health", headers=dispatcher).json) == {"ok"}
    assert set(client.get("/api/v1/health", headers={"Authorization": "Bearer forged"}).json) == {"ok"}
    _, supervisor = as_role(Role.SUPERVISOR)
    detailed = client.get("/api/v1/health", headers=supervisor).json
    assert {"database", "redis", "queues", "checks"} <= set(detailed)


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json", "/api/v1/cases", "/"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_html_answers_carry_a_strict_content_security_policy(client):
    redirect = client.get("/")  # the redirect to the console is a small HTML page
    assert redirect.mimetype == "text/html"
    assert redirect.headers["Content-Security-Policy"].startswith("default-src 'none'")
    console = client.get("/console/")  # the console sets its own, as strict, allowing only itself
    assert "default-src 'none'" in console.headers["Content-Security-Policy"]


def test_the_console_policy_is_built_at_app_creation_not_per_request(client, monkeypatch):
    from backend.console import routes

    built = routes.content_security_policy("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    monkeypatch.setattr(routes, "content_security_policy", lambda *_: pytest.fail("CSP rebuilt per request"))
    response = client.get("/console/")
    assert response.headers["Content-Security-Policy"] == built
    assert response.headers["Cache-Control"] == "no-cache"


def test_authenticated_json_is_never_cached(client, as_role):
    _, headers = as_role(Role.DISPATCHER)
    response = client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_like_wildcards_in_case_search_match_only_themselves(client, as_role, create_case):
    _, headers = as_role(Role.DISPATCHER)
    literal, other = create_case(), create_case()
    literal.debtor_name, other.debtor_name = "Wang_Wei 100%", "WangXWei 1000"

    def found(q):
        return {c["id"] for c in client.get("/api/v1/cases", query_string={"q": q}, headers=headers).json["items"]}

    assert found("Wang_Wei") == {literal.id}
    assert found("100%") == {literal.id}
    assert other.id not in found("%") and literal.id in found("%")
    assert found("\\") == set()
