"""Request helpers for bodies flask-smorest's schemas cannot describe (uploads, raw lists)."""
from __future__ import annotations

import json

from flask import request

from backend.errors import DomainError


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
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("validation_error", f"{field}: not UTF-8 or GB18030 text", status=422,
                      fields={field: "unreadable encoding"})
