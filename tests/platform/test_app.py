"""The app shell: JSON errors everywhere, the OpenAPI document, every endpoint guarded."""
from __future__ import annotations

from backend.auth.models import Role


def test_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/cases/import" in response.json["paths"]
    assert "bearerAuth" in response.json["components"]["securitySchemes"]


def test_unknown_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_every_endpoint_declares_its_roles(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.startswith("/api/v1/openapi"):
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        methods = [m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}]
        for method in methods:
            handler = getattr(view_class, method, None) if view_class else view
            if getattr(handler, "allowed_roles", None) is None:
                undeclared.append(f"{method.upper()} {rule.rule}")
    assert undeclared == []


def test_health_reports_database_and_redis_to_a_supervisor(client, as_role):
    _, headers = as_role(Role.SUPERVISOR)
    response = client.get("/api/v1/health", headers=headers)
    assert response.json["database"] is True
    assert response.json["redis"] is True
    assert set(response.json["queues"]["queued"]) >= {"safety", "tracing", "planning", "periodic"}


def test_missing_token_is_401(client):
    response = client.get("/api/v1/cases")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_garbage_token_is_401(client):
    response = client.get("/api/v1/cases", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


def test_wrong_role_is_403(client, as_role):
    _, headers = as_role(Role.COLLECTOR)
    response = client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
