"""Request helpers for bodies flask-smorest's schemas cannot describe (uploads, raw lists), the body
limit every request passes before anything reads it, and the storable-text check on parsed input."""
from __future__ import annotations

import functools
import json

from flask import current_app, request
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import LimitedStream

from backend.errors import DomainError, InvalidInput
from backend.validation import INT_MAX, unstorable_text


def json_body():
    """Return the parsed JSON body, or raise a 400 naming the problem."""
    raw = request.get_data(cache=True)
    if not raw:
        raise DomainError("malformed_json", "request body is empty; expected JSON", status=400,
                          fields={"_body": "empty"})
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError("malformed_json", f"malformed JSON: {exc}", status=400,
                          fields={"_body": "malformed JSON"}) from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    check_storable(document)
    return document


def _too_deep() -> DomainError:
    return DomainError("malformed_json", "malformed JSON: nested too deeply", status=400,
                       fields={"_body": "nested too deeply"})


def uploaded_text(field: str, *, required: bool = True) -> str | None:
    """Return the text of an uploaded file field (UTF-8, or GB18030 as Excel in China writes it)."""
    upload = request.files.get(field)
    if upload is None:
        if required:
            raise DomainError("validation_error", f"missing file field {field!r}", status=422,
                              fields={field: "missing file"})
        return None
    raw = upload.read()
    if not raw.strip():
        raise DomainError("validation_error", f"{field}: the file is empty", status=422, fields={field: "empty file"})
    if b"\x00" in raw:  # no text file holds one, and PostgreSQL text cannot
        raise DomainError("validation_error", f"{field}: not a text file (it holds NUL bytes)", status=422,
                          fields={field: "not a text file"})
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("validation_error", f"{field}: not UTF-8 or GB18030 text", status=422,
                      fields={field: "unreadable encoding"})


class IdConverter(IntegerConverter):
    """`<int:...>` path ids: past an integer column's range no row can exist, so the route does not
    match (404) instead of the lookup failing in PostgreSQL."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


def limit_request_body() -> None:
    """Before anything else (authentication, routing's 405, any parsing): refuse a body over this
    endpoint's limit. A declared Content-Length over it is a 413 without reading a byte; a body
    without one (chunked) is read through a stream that stops at the limit with the same 413."""
    limit = body_limit()
    request.max_content_length = limit  # werkzeug wraps the input stream in a LimitedStream of this size
    length = request.content_length
    if length is not None and length > limit:
        raise body_too_large(limit)
    if length is None and "wsgi.input_terminated" in request.environ:  # chunked: no length to check
        request.__dict__["stream"] = StrictLimitedStream(request.environ["wsgi.input"], limit, is_max=True)


class StrictLimitedStream(LimitedStream):
    """werkzeug's LimitedStream stops quietly at a maximum when read whole (`read()`), handing on a
    truncated body; this one looks one byte past the limit and refuses the body with a 413 instead."""

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


def takes_upload(setting: str):
    """Declare that a view method takes a file upload of up to `config[setting]` bytes (every other body is
    JSON, limited to JSON_BODY_MAX_BYTES). limit_request_body reads it before anything reads the body."""

    def decorator(view):
        view.body_limit_setting = setting
        return view

    return decorator


def body_limit() -> int:
    """The byte limit for this request's body: the setting its view declares with @takes_upload, else
    `JSON_BODY_MAX_BYTES`; never above the ceiling `MAX_CONTENT_LENGTH`."""
    config = current_app.config
    view = current_app.view_functions.get(request.endpoint) if request.endpoint is not None else None
    handler = view_handler(view) if view is not None else None
    setting = getattr(handler, "body_limit_setting", None) or "JSON_BODY_MAX_BYTES"
    return min(config[setting], config["MAX_CONTENT_LENGTH"])


def body_too_large(limit: int) -> DomainError:
    return DomainError("too_large", f"the request is larger than the {limit}-byte limit", status=413,
                       fields={"_body": f"the request is larger than {limit} bytes"})


class StorableArgumentsParser(FlaskParser):
    """flask-smorest's argument parser, plus one check on what it loaded: text PostgreSQL cannot store
    (NUL, lone surrogates) is a 422 naming the field. It runs inside the endpoint's argument parsing,
    so after authentication, and only on the locations the endpoint reads."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            raise _too_deep() from exc

    def pre_load(self, location_data, *, schema, req, location):
        sources = {"query": req.args, "querystring": req.args, "form": req.form, "json_or_form": req.form}
        if location in sources:
            for name, value in sources[location].items(multi=True):
                _check_text(name, value)
        if location in ("json", "json_or_form"):
            check_storable(location_data)
        return location_data


def check_storable(document) -> None:
    """422 naming the first field (or key) of a parsed JSON document holding text PostgreSQL cannot
    store. The path is built only for the field reported: the walk carries (parent, key) links."""
    # A loop, not recursion: a document the parser accepted may still be nested deeper than our stack.
    pending = [(document, None)]
    while pending:
        node, link = pending.pop()
        if isinstance(node, str):
            if unstorable_text(node):
                _check_text(_path(link), node)
        elif isinstance(node, dict):
            for key, value in node.items():
                child = (link, key)
                if isinstance(key, str) and unstorable_text(key):
                    _check_text(_path(child), key)
                pending.append((value, child))
        elif isinstance(node, list):
            pending.extend((value, (link, i)) for i, value in enumerate(node))


def _path(link) -> str:
    parts = []
    while link is not None:
        link, key = link
        parts.append(str(key))
    return ".".join(reversed(parts))


def _check_text(field: str, value: str) -> None:
    problem = unstorable_text(value)
    if problem:
        raise InvalidInput(field or "_body", problem)


def view_handler(view):
    """The function that answers this request's method: a MethodView's method (HEAD falls back to GET, as
    Flask's dispatch does), or the view itself."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view
    handler = getattr(view_class, request.method.lower(), None)
    if request.method == "HEAD" and handler is None:
        handler = getattr(view_class, "get", None)
    return handler


def declared_query_names(view) -> frozenset[str] | None:
    """The query parameter names an endpoint declares through @blp.arguments(..., location="query"),
    or None for a view that is not ours (flask-smorest's docs, static files)."""
    handler = view_handler(view)
    return _query_names(handler) if handler is not None else None


@functools.cache
def _query_names(handler) -> frozenset[str] | None:
    """Read once per handler (its declaration never changes), not on every request with a query string."""
    doc = getattr(handler, "_apidoc", None)
    if doc is None:
        return None
    names: set[str] = set()
    for parameter in doc.get("arguments", {}).get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("in") == "query":
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names.update(field.data_key or name for name, field in schema.fields.items() if not field.dump_only)
    return frozenset(names)


def reject_unknown_query_arguments() -> None:
    """A query parameter the endpoint does not declare is a 422 naming it, never silently ignored (a
    misspelt filter would otherwise return everything). Called by auth.access.roles_required once the
    caller is authenticated, and by auth.access.public, so every endpoint (each declares its roles or
    that it is public; tests/platform/test_unknown_query.py walks them) checks it."""
    if not request.args or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    declared = declared_query_names(view) if view is not None else None
    if declared is None:
        return
    unknown = sorted(set(request.args) - declared)
    if unknown:
        raise DomainError("validation_error", f"unknown query parameter(s): {', '.join(unknown)}", status=422,
                          fields={name: "unknown query parameter" for name in unknown})
