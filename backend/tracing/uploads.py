"""Check an uploaded phone book or call record at the door: size, rows, and that it is CSV or JSON at all.

Bad rows inside a good file are the job's business (counted in its stats); here we refuse only what no
job could read, and what breaks the policy limits, before anything is stored.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from typing import BinaryIO

from backend.errors import DomainError, InvalidInput
from backend.tracing.engine import fields as F
from backend.tracing.engine.jsonstream import iter_items

KINDS = ("contacts", "calls")
HEAD_BYTES = 1 << 16
# Signatures of the binary files people upload by mistake (xlsx/zip, xls, pdf, gzip, 7z, rar).
BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")


@dataclass(frozen=True)
class Upload:
    """A checked upload, ready to store."""

    kind: str
    filename: str | None
    data: bytes
    sha256: str
    format: str
    encoding: str
    rows: int

    @property
    def size(self) -> int:
        return len(self.data)

    def describe(self) -> dict:
        """What the request keeps about the file once the file itself is gone."""
        return {"bytes": self.size, "sha256": self.sha256, "format": self.format, "encoding": self.encoding,
                "rows": self.rows}


def read_upload(kind: str, stream: BinaryIO, *, filename: str | None, max_bytes: int, max_rows: int) -> Upload:
    """Read and check one uploaded file; 413 beyond the limits, 422 when it is not CSV or JSON."""
    size = _size(stream)
    if size is not None and size > max_bytes:
        raise _too_large(kind, f"file is {size:,} bytes; the limit is {max_bytes:,} (tracing.max_upload_bytes)")
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(kind, f"file is over the limit of {max_bytes:,} bytes (tracing.max_upload_bytes)")
    head = data[:HEAD_BYTES]
    if not head.strip():
        raise InvalidInput(kind, "the file is empty")
    if head.startswith(BINARY_MAGIC) or b"\x00" in head:
        raise InvalidInput(kind, "not a CSV or JSON file (is it a spreadsheet? export it as CSV)")
    encoding = _encoding(head, kind)
    fmt = "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv"
    rows = _check_json(data, kind, encoding) if fmt == "json" else _check_csv(data, head, kind, encoding)
    if rows > max_rows:
        raise _too_large(kind, f"about {rows:,} rows; the limit is {max_rows:,} (tracing.max_rows)")
    return Upload(kind=kind, filename=(filename or None) and filename[:255], data=data,
                  sha256=hashlib.sha256(data).hexdigest(), format=fmt, encoding=encoding, rows=rows)


def _too_large(field: str, message: str) -> DomainError:
    return DomainError("too_large", f"{field}: {message}", status=413, fields={field: message})


def _size(stream: BinaryIO) -> int | None:
    """Return the bytes left in a seekable stream without reading them, else None."""
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end - here
    except (OSError, AttributeError, ValueError):
        return None


def _encoding(head: bytes, field: str) -> str:
    """Return utf-8-sig or gb18030 (Chinese Excel exports); anything else is not text we can read."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InvalidInput(field, "not UTF-8 or GB18030 text")


def _check_csv(data: bytes, head: bytes, kind: str, encoding: str) -> int:
    """Require the columns the job cannot do without; return the data row count (blank lines skipped)."""
    text = head.decode(encoding, errors="replace")
    header = next(csv.reader(io.StringIO(text)), [])
    _require_columns(kind, F.header_map(header, kind), "column")
    return _count_lines(data) - 1


def _check_json(data: bytes, kind: str, encoding: str) -> int:
    """Require the first record to be an object with the needed keys; return an estimate of the records."""
    try:
        first = next(iter_items(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace")), None)
    except RecursionError:  # nested deeper than the JSON parser goes: nobody's phone book
        first = None
    if not isinstance(first, dict):
        raise InvalidInput(kind, "not valid JSON records: expected an array of objects or one object per line")
    keys = {F.canonical_key(str(key), kind) for key in first}
    _require_columns(kind, dict.fromkeys(keys - {None}), "key")
    if _is_json_lines(data, encoding):
        return _count_lines(data)
    # An array (or a wrapper object): each flat record opens one brace.
    return max(data.count(b"{") - (0 if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") else 1), 0)


def _is_json_lines(data: bytes, encoding: str) -> bool:
    """Tell JSON Lines (a whole record on the first line) from an array or a wrapper object."""
    first_line = data.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        record = json.loads(first_line.decode(encoding, errors="replace"))
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and not any(isinstance(value, list) for value in record.values())


def _require_columns(kind: str, found: dict, noun: str) -> None:
    missing = [name for name in F.REQUIRED[kind] if name not in found]
    if missing:
        raise InvalidInput(kind, f"missing {noun}{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                                 f"(documented columns: {', '.join(F.COLUMNS[kind])})")


def _count_lines(data: bytes) -> int:
    """Count non-blank lines cheaply (a quoted newline inside a field counts as one more: fine for a limit)."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return lines - data.count(b"\n\n") - data.count(b"\n\r\n")
