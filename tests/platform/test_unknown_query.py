"""Every endpoint refuses a query parameter it does not declare (422 naming it): a misspelt filter
never silently answers everything. Public endpoints too."""
from __future__ import annotations

from backend.auth.models import Role


def _get_handlers(app):
    """(path, handler) for every GET endpoint of the API, path variables filled with 1."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule.startswith("/api/v1/openapi") or "GET" not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        handler = getattr(view_class, "get", None) if view_class else view
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "1")
        yield path, handler


def test_every_get_endpoint_refuses_an_undeclared_query_parameter(app, client, as_role):
    tokens: dict = {}
    missed = []
    for path, handler in _get_handlers(app):
        roles = handler.allowed_roles
        headers = {}
        if roles != "public":
            role = Role.ADMIN if Role.ADMIN in roles else roles[0]
            if role not in tokens:
                tokens[role] = as_role(role)[1]
            headers = tokens[role]
        response = client.get(path, query_string={"bogus_filter": "1"}, headers=headers)
        fields = (response.json or {}).get("error", {}).get("fields") or {}
        if response.status_code != 422 or "bogus_filter" not in fields:
            missed.append(f"{path}: {response.status_code} {fields}")
    assert missed == []
