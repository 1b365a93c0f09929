"""One error shape for the whole API: {"error": {"code", "message", "fields"}}."""
from __future__ import annotations

from flask import jsonify
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

DEFAULT_CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


class DomainError(Exception):
    """A rule refused the request; carries its API code and HTTP status."""

    status = 409

    def __init__(self, code: str, message: str, *, status: int | None = None, fields: dict | None = None,
                 extra: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status


class NotFound(DomainError):
    """An id that names nothing (or nothing the caller may see)."""

    status = 404

    def __init__(self, what: str, ident, field: str | None = None):
        fields = {field: f"unknown {what}"} if field else None
        super().__init__("not_found", f"{what} {ident} not found", fields=fields)


class Forbidden(DomainError):
    """The caller's role or ownership does not allow this."""

    status = 403

    def __init__(self, message: str = "not allowed for your role"):
        super().__init__("forbidden", message)


class InvalidInput(DomainError):
    """Input that parsed but breaks a rule about a named field."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__("validation_error", f"{field}: {message}", fields={field: message})


def flatten_messages(messages) -> dict[str, str]:
    """Turn webargs/marshmallow nested messages into {"a.b.0.c": "message"}."""
    flat: dict[str, str] = {}

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list) and node and all(isinstance(m, str) for m in node):
            flat[prefix or "_schema"] = "; ".join(node)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(f"{prefix}.{i}", value)
        else:
            flat[prefix or "_schema"] = str(node)

    # webargs nests by location ("json", "query", "form", "files"); the client wants field names.
    if isinstance(messages, dict):
        for location, node in messages.items():
            if location in {"json", "query", "form", "files", "headers", "view_args", "json_or_form"}:
                walk("", node)
            else:
                walk(str(location), node)
    return flat


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None,
                   extra: dict | None = None):
    """Build the JSON error response."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}, **(extra or {})}}
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.extend(headers)
    return response


class ErrorDetailSchema(Schema):
    """What went wrong; a rule may add its own context next to these (e.g. `until`)."""

    class Meta:
        unknown = INCLUDE

    code = fields.String(required=True)
    message = fields.String(required=True)
    field_messages = fields.Dict(keys=fields.String(), data_key="fields", required=True)


class ErrorSchema(Schema):
    """Every error response: {"error": {"code", "message", "fields"}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class JsonErrorApi(Api):
    """flask-smorest Api whose errors use our shape instead of its own (in the OpenAPI document too)."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        fields = flatten_messages(data.get("messages") or data.get("errors") or {})
        code = data.get("code") or DEFAULT_CODES.get(status, "error")
        if status == 400 and any("Invalid JSON" in m for m in fields.values()):
            code, fields = "malformed_json", {"_body": "malformed JSON"}
        message = data.get("message")
        if not message:
            if fields:
                message = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
            else:
                message = error.description or error.name
        if status == 413 and not fields:
            from flask import request

            limit = request.max_content_length  # this endpoint's limit (backend/http.py body_limit)
            fields = {"_body": f"the request is larger than {limit} bytes"}
            message = f"the request is larger than the {limit}-byte limit"
        if status >= 500:
            message, fields = "internal error", {}
        return error_response(status, code, message, fields, headers=data.get("headers"))


# Seconds a client waits before retrying when the database is unavailable (a restart takes a few).
DATABASE_RETRY_AFTER_S = 2


def _caused_by(error: BaseException | None, matches) -> bool:
    """Whether the error, or anything in its cause/context chain, matches."""
    seen = set()
    while error is not None and id(error) not in seen:
        if matches(error):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def redis_unavailable(error: BaseException) -> bool:
    """Whether this error is Redis unreachable (refused, reset, timed out), directly or under a wrapper."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return _caused_by(error, lambda e: isinstance(e, RedisConnectionError | RedisTimeoutError))


def database_unavailable(error: BaseException) -> bool:
    """Whether this error (or what caused it) is the database connection failing, not a bug: SQLAlchemy's
    OperationalError/InterfaceError, or the driver's own when code spoke to the driver directly."""
    import psycopg
    from sqlalchemy import exc as sa_exc

    kinds = (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
    return _caused_by(error, lambda e: isinstance(e, kinds)
                      or (isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated))


def register_error_handlers(app) -> None:
    """Map domain errors and anything unexpected to the JSON error shape."""

    from backend.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        # A refused request leaves nothing behind, whatever the service had added before refusing.
        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.fields, extra=error.extra,
                              headers=getattr(error, "headers", None) or None)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if redis_unavailable(error):
            # Redis holds the login counters and the queues: without it a login cannot be counted, so it
            # is refused (fail closed) as "retry shortly", never a 500 and never an uncounted guess.
            app.logger.warning("redis unavailable: %s", type(error).__name__)
            return error_response(503, "service_unavailable", "a backing service is unavailable; retry shortly",
                                  headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})
        if database_unavailable(error):
            # The server went away (restart, failover, terminated backends): nothing of this request
            # was committed; the client may retry shortly. The session lets go of the dead connection.
            try:
                db.session.rollback()
            except Exception as exc:  # the rollback meets the same dead connection
                app.logger.info("rollback on a lost database connection failed: %s", exc)
            db.session.close()
            # Every pooled connection died with the one that failed (a restart, a failover): start a new
            # pool rather than meet each dead connection in a later request (connections in use elsewhere
            # are discarded when they come back).
            db.engine.dispose(close=False)
            app.logger.warning("database unavailable: %s", type(error).__name__)
            return error_response(503, "database_unavailable", "the database is unavailable; retry shortly",
                                  headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})
        db.session.rollback()
        if isinstance(error, HTTPException):
            from backend.extensions import api

            return api.handle_http_exception(error)
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")
