"""Request helpers for bodies flask-smorest's schemas cannot describe (uploads, raw lists), and the
checks every request passes before its endpoint parses it."""
from __future__ import annotations

import json

from flask import request
from werkzeug.routing import IntegerConverter

from backend.errors import DomainError, InvalidInput
from backend.validation import INT_MAX, unstorable_text


def json_body():
    """Return the parsed JSON body, or raise a 400 naming the problem."""
    raw = request.get_data(cache=True)
    if not raw:
        raise DomainError("malformed_json", "request body is empty; expected JSON", status=400,
                          fields={"_body": "empty"})
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError("malformed_json", f"malformed JSON: {exc}", status=400,
                          fields={"_body": "malformed JSON"}) from exc
    except RecursionError as exc:
        raise _too_deep() from exc


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


def reject_unstorable_input() -> None:
    """Before every endpoint: 400 for JSON nested past the parser's depth, 422 naming any query, form
    or JSON field (or key) holding text PostgreSQL cannot store (NUL, lone surrogates)."""
    for name, value in request.args.items(multi=True):
        _check_text(name, value)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            _check_text(name, value)
    if request.is_json:
        try:
            document = json.loads(request.get_data(cache=True))
        except RecursionError as exc:
            raise _too_deep() from exc
        except ValueError:  # malformed: the endpoint's own parser says so, naming the problem
            return
        _check_document(document)


def _check_text(field: str, value: str) -> None:
    problem = unstorable_text(value)
    if problem:
        raise InvalidInput(field or "_body", problem)


def _check_document(document) -> None:
    # A loop, not recursion: a document the parser accepted may still be nested deeper than our stack.
    pending = [(document, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            _check_text(path, node)
        elif isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                _check_text(child, str(key))
                pending.append((value, child))
        elif isinstance(node, list):
            pending.extend((value, f"{path}.{i}" if path else str(i)) for i, value in enumerate(node))
