"""What the OpenAPI document says beyond what flask-smorest writes by itself, so a client can be
generated from it: a stable `verb_noun` operationId on every operation, the error responses each
operation can return (all in the `{"error": {"code", "message", "fields"}}` shape), and the
`Idempotency-Key` header where an endpoint takes one.

The operationId is derived from the route (method + URL), so it stays put while the Python behind it
moves; `@blp.doc(operationId=...)` overrides it where the derived name reads badly. Two operations
with one id make the app refuse to start: a generated client would silently lose one of them.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from http import HTTPStatus

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from backend.idempotency import KEY_PATTERN

API_PREFIX = "/api/v1"
WRITE_METHODS = ("post", "put", "patch", "delete")
# A last URL segment after an id that is an action on the thing, not a collection under it.
ACTIONS = {"approve", "assign", "cancel", "start", "ack", "resolve", "confirm", "reject", "retry", "close",
           "reopen", "release", "submit", "plan", "import"}
# Words the naive plural rule would break.
UNCHANGED = {"sos", "status", "sync", "health", "me", "news", "status_history", "geojson", "compliance"}

IDEMPOTENCY_HEADER = "Idempotency-Key"

# Where the derived name reads badly. Keys are (method, OpenAPI path); these names are part of the
# contract: a generated client's method names, so never rename one.
OPERATION_IDS = {
    ("post", "/api/v1/auth/token"): "log_in",
    ("get", "/api/v1/audit"): "list_audit_events",
    ("post", "/api/v1/cases/import"): "import_cases",
    ("post", "/api/v1/visits/{visit_id}/outcome"): "report_visit_outcome",
    ("post", "/api/v1/sync"): "sync_events",
    ("post", "/api/v1/routes/plan"): "plan_routes",
    ("get", "/api/v1/me/route"): "get_my_route",
    ("get", "/api/v1/safety/me"): "get_my_safety_status",
    ("post", "/api/v1/safety/checkins"): "check_in",
    ("post", "/api/v1/safety/sos"): "raise_sos",
    ("post", "/api/v1/safety/lodgings"): "declare_lodging",
    ("get", "/api/v1/promises/reminders-due"): "list_due_reminders",
    ("get", "/api/v1/compliance/follow-up"): "list_follow_ups",
    ("get", "/api/v1/compliance/late-entries"): "list_late_entries",
    ("post", "/api/v1/cases/{case_id}/contacts/{contact_id}/do-not-contact"): "set_contact_do_not_contact",
    ("delete", "/api/v1/cases/{case_id}/contacts/{contact_id}/do-not-contact"): "clear_contact_do_not_contact",
    ("post", "/api/v1/cases/{case_id}/debtor/do-not-contact"): "set_debtor_do_not_contact",
    ("delete", "/api/v1/cases/{case_id}/debtor/do-not-contact"): "clear_debtor_do_not_contact",
    ("post", "/api/v1/cases/{case_id}/contacts/{contact_id}/volunteered-to-pay"): "mark_contact_volunteered_to_pay",
}


def takes_idempotency_key(*, required: bool) -> Callable:
    """Declare that the endpoint reads an Idempotency-Key header (a client UUID that makes retries safe).

    required: without it the request is refused (422 naming the header); otherwise it is optional and
    a request without one is simply applied.
    """

    def decorator(view):
        view.idempotency_key = "required" if required else "optional"
        return view

    return decorator


def may_return(*statuses: int) -> Callable:
    """Declare error statuses an endpoint returns beyond those derived from its shape (see error_statuses)."""

    def decorator(view):
        view.error_statuses = tuple(sorted({*getattr(view, "error_statuses", ()), *statuses}))
        return view

    return decorator


def singular(word: str) -> str:
    if word in UNCHANGED or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s"):
        return word[:-1]
    return word


def derive_operation_id(method: str, path: str) -> str:
    """verb_noun from the method and the OpenAPI path, e.g. GET /visits/{visit_id} -> get_visit."""
    path = path.removeprefix(API_PREFIX)
    suffix = ""
    if path.endswith(".geojson"):
        path, suffix = path.removesuffix(".geojson"), "_geojson"
    parts = [p for p in path.strip("/").split("/") if p]
    nouns = [re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts if not p.startswith("{")]
    last_is_id = bool(parts) and parts[-1].startswith("{")
    after_id = len(parts) >= 2 and parts[-2].startswith("{")
    # Everything before the last noun names its owner in the singular: cases/{id}/promises -> case_promises.
    owners = [singular(n) for n in nouns[:-1]]
    last = nouns[-1] if nouns else "root"
    if last in ACTIONS and (after_id or method == "post"):  # an action on a thing, or a POSTed one
        return "_".join([last, *owners]) + suffix
    if last_is_id:
        verb = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}.get(method, method)
        return "_".join([verb, *owners, singular(last)]) + suffix
    verb = {"get": "list", "post": "create", "patch": "update", "put": "replace", "delete": "delete"}[method]
    noun = last if method == "get" else singular(last)
    if method == "get" and singular(last) == last and last not in {"geojson"}:
        verb = "get"  # a single thing (me, board, route of the day), not a list
    return "_".join([verb, *owners, noun]) + suffix


def error_statuses(method: str, path: str, operation: dict, view) -> list[int]:
    """The error statuses an operation can return, from what it takes and who may call it."""
    statuses: set[int] = set(getattr(view, "error_statuses", ()))
    roles = getattr(view, "allowed_roles", None)
    if roles != "public":
        statuses.add(401)  # no token, a bad one, or a deactivated user
        statuses.add(403)  # a role that may not call it, or a row the caller's scope does not reach
    if "{" in path:
        statuses.add(404)
    body = operation.get("requestBody", {}).get("content", {})
    if any(p.get("in") in ("query", "header") for p in operation.get("parameters", []) if isinstance(p, dict)) \
            or body or getattr(view, "idempotency_key", None) == "required":
        statuses.add(422)
    if "application/json" in body:
        statuses.add(400)  # malformed JSON
    if body:
        statuses.add(413)  # every body has a ceiling (1 MiB for JSON, its own for an upload), checked before parsing
    statuses.add(503)  # the database or Redis unreachable: nothing was stored, retry after Retry-After
    if method in WRITE_METHODS:
        statuses.add(409)  # a domain rule refused it (or a used Idempotency-Key with another body)
    return sorted(statuses)


def decimals_as_numbers(converter, field, ret, **kwargs) -> dict:
    """A money field's bounds are Decimals; JSON (and a client generator) wants numbers there."""
    return {key: float(value) for key, value in ret.items() if isinstance(value, Decimal)}


def idempotency_parameter(required: bool) -> dict:
    text = ("A client-generated UUID for this submission; a retry with the same key and body gets the first "
            "response again (200), the same key with another body is a 409.")
    if required:
        text += " Required: a request without one is refused (422)."
    else:
        text += " Optional: without one, a retry is applied again."
    return {"in": "header", "name": IDEMPOTENCY_HEADER, "required": required, "description": text,
            "schema": {"type": "string", "pattern": KEY_PATTERN}}


class ClientContractPlugin(BasePlugin):
    """apispec plugin: operationIds, documented errors, the Idempotency-Key header."""

    def __init__(self, app):
        self.app = app

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.seen: dict[str, str] = {}
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(decimals_as_numbers)

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        if rule is None or operations is None:
            return
        view_class = getattr(self.app.view_functions.get(rule.endpoint), "view_class", None)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            view = getattr(view_class, method, None) if view_class is not None else \
                self.app.view_functions.get(rule.endpoint)
            operation_id = (operation.get("operationId") or OPERATION_IDS.get((method, path))
                            or derive_operation_id(method, path))
            where = f"{method.upper()} {path}"
            if operation_id in self.seen:
                raise RuntimeError(f"operationId {operation_id!r} of {where} is already {self.seen[operation_id]}'s; "
                                   f"give one of them @blp.doc(operationId=...)")
            self.seen[operation_id] = where
            operation["operationId"] = operation_id
            mode = getattr(view, "idempotency_key", None)
            if mode is not None:
                operation.setdefault("parameters", []).append(idempotency_parameter(mode == "required"))
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, path, operation, view):
                # A named component response: {"error": {"code", "message", "fields"}} (backend.errors.ErrorSchema).
                responses.setdefault(str(status), HTTPStatus(status).name)


