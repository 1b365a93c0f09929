"""Stream contacts and call records from CSV or JSON; bad rows are counted and sampled, never fatal."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import polars as pl

from . import columnar
from . import fields as F
from .jsonstream import iter_items
from .phones import Normalizer

Source = str | os.PathLike | BinaryIO | bytes
Progress = Callable[[float], None] | None

HEAD_BYTES = 1 << 16
PROGRESS_EVERY = 20_000


class _Stream(io.RawIOBase):
    """A binary stream that replays the sniffed head and counts the bytes read, for progress."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head, self.rest, self.done = head, rest, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            data, self.head = self.head[: len(buffer)], self.head[len(buffer):]
        else:
            data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        self.done += len(data)
        return len(data)


class Opened:
    """An opened source: its sniffed head, size, format and encoding."""

    def __init__(self, source: Source, fmt: str | None):
        self.path = Path(source) if isinstance(source, str | os.PathLike) else None
        if self.path:
            self.raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        else:
            self.raw = io.BytesIO(source) if isinstance(source, bytes) else source
        self.size = _size(self.raw)
        self.head = self.raw.read(HEAD_BYTES)
        self.format = fmt or _sniff_format(self.head, self.path)
        self.encoding = _sniff_encoding(self.head)
        self.stream = _Stream(self.head, self.raw)

    def text(self) -> io.TextIOWrapper:
        """Return the source as text, decoding errors replaced so one bad byte costs one row at most."""
        return io.TextIOWrapper(io.BufferedReader(self.stream), encoding=self.encoding, errors="replace",
                                newline="")

    def fraction(self) -> float:
        """Return how much of the source has been read, when its size is known."""
        return min(1.0, self.stream.done / self.size) if self.size else 0.0

    def close(self) -> None:
        """Close the file if we opened it."""
        if self.path:
            self.raw.close()


def _size(raw: BinaryIO) -> int | None:
    """Return the remaining byte count of a seekable stream, else None."""
    try:
        here = raw.tell()
        end = raw.seek(0, io.SEEK_END)
        raw.seek(here)
        return end - here
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _sniff_format(head: bytes, path: Path | None) -> str:
    """Tell CSV from JSON by extension, else by the first non-blank character."""
    if path and path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        return "json"
    if path and path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return "csv"
    return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") else "csv"


def _sniff_encoding(head: bytes) -> str:
    """Return utf-8-sig when the head decodes as UTF-8, else gb18030 (Chinese Excel exports)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


class RowBuilder:
    """Turn records of raw strings into typed columns, rejecting bad rows with a reason."""

    def __init__(self, kind: str, normalizer: Normalizer, tz: ZoneInfo, default_owner: str | None,
                 stats: F.RowStats):
        self.kind, self.normalizer, self.tz = kind, normalizer, tz
        self.default_owner, self.stats = default_owner, stats
        # Typed values in schema order (ids are added by frame()); one list per column.
        self.columns: list[list] = [[] for name in F.SCHEMAS[kind] if name not in ("oid", "nid")]
        self.durations: dict[str, int | None] = {}

    def add(self, row: int, record: dict) -> None:
        """Validate one record and append it, or count why it was rejected."""
        owner = self._owner(row, record.get("owner_number"))
        phone = self.normalizer(record.get("number"))
        if owner is None:
            return
        if phone.e164 is None:
            return self.stats.reject(row, "number", record.get("number"), F.BAD_NUMBER)
        if self.kind == "calls":
            values = self._call(row, record)
            if values is None:
                return
            values = (owner, phone.e164, phone.kind, *values)
        else:
            values = (owner, (record.get("name") or "").strip(), phone.e164, phone.kind)
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)

    def _owner(self, row: int, raw: str | None) -> str | None:
        """Return the owner's E.164, the debtor's number when absent, None (rejected) when unreadable."""
        if raw is None or not raw.strip():
            return self.default_owner
        e164 = self.normalizer(raw).e164
        if e164 is None:
            self.stats.reject(row, "owner_number", raw, F.BAD_OWNER)
        return e164

    def _call(self, row: int, record: dict) -> tuple | None:
        """Parse the call fields of one record to (out, ts, dur), or reject it."""
        started, direction, duration = record.get("started_at"), record.get("direction"), record.get("duration_s")
        ts = F.parse_timestamp(started, self.tz)
        if ts is None:
            return self.stats.reject(row, "started_at", started, F.BAD_TIME)
        out = F.parse_direction(direction)
        if out is None:
            return self.stats.reject(row, "direction", direction, F.BAD_DIRECTION)
        key = duration or ""
        dur = self.durations[key] if key in self.durations else self.durations.setdefault(key, F.parse_duration(key))
        if dur is None:
            return self.stats.reject(row, "duration_s", duration, F.BAD_DURATION)
        if dur < 0:
            return self.stats.reject(row, "duration_s", duration, F.NEGATIVE)
        return out, ts, dur

    def frame(self) -> pl.DataFrame:
        """Return the accepted rows as a DataFrame, with the number ids for calls."""
        schema = F.SCHEMAS[self.kind]
        names = [name for name in schema if name not in ("oid", "nid")]
        frame = pl.DataFrame(dict(zip(names, self.columns, strict=True)), schema={n: schema[n] for n in names})
        if self.kind == "calls":
            frame = frame.with_columns(oid=self._ids(frame["owner"]), nid=self._ids(frame["number"]))
        return frame

    def _ids(self, numbers: pl.Series) -> pl.Series:
        """Map E.164 numbers to their ids, each distinct number looked up once."""
        ids = {number: self.normalizer.id_of(number) for number in numbers.unique(maintain_order=True).to_list()}
        return numbers.replace_strict(ids, return_dtype=pl.UInt32) if ids else numbers.cast(pl.UInt32)


def iter_csv(text: io.TextIOWrapper, kind: str, stats: F.RowStats) -> Iterator[tuple[int, dict]]:
    """Yield (row number, record) from CSV text; row 1 is the first line after the header."""
    reader = csv.reader(text)
    header = next(reader, None) or []
    positions = F.header_map(header, kind)
    missing = [name for name in F.REQUIRED[kind] if name not in positions]
    if missing:
        stats.reject(0, ",".join(missing), header, "missing_column")
        return
    # Blank lines get no row number, as in the columnar reader.
    for row, values in enumerate(filter(None, reader), start=1):
        yield row, {name: values[at] if at < len(values) else None for name, at in positions.items()}


def iter_json(text: io.TextIOWrapper, kind: str, stats: F.RowStats) -> Iterator[tuple[int, dict]]:
    """Yield (row number, record) from a JSON array, JSON Lines, or one object wrapping an array."""
    for row, item in enumerate(iter_items(text), start=1):
        if not isinstance(item, dict):
            stats.reject(row, "record", str(item)[:80], F.BAD_RECORD)
            yield row, None
            continue
        record = {}
        for key, value in item.items():
            name = F.canonical_key(str(key), kind)
            if name and name not in record:
                record[name] = None if value is None else str(value)
        yield row, record




def read_records(source: Source, kind: str, *, normalizer: Normalizer, tz: ZoneInfo, default_owner: str | None,
                 limits: dict, progress: Progress = None, fmt: str | None = None) -> tuple[pl.DataFrame, dict]:
    """Read one uploaded file of `kind` ('calls' or 'contacts') into a typed frame and its row stats."""
    stats = F.RowStats(limits["max_samples"])
    opened = Opened(source, fmt)
    try:
        if kind == "calls" and _use_columnar(opened, limits):
            stats.reader = "columnar"
            frame = columnar.read_calls_csv(opened, normalizer=normalizer, tz=tz, default_owner=default_owner,
                                            stats=stats, limits=limits, progress=progress)
        else:
            frame = _read_stream(opened, kind, RowBuilder(kind, normalizer, tz, default_owner, stats), limits,
                                 progress)
    finally:
        opened.close()
    if progress:
        progress(1.0)
    return frame, {**stats.as_dict(), "format": opened.format, "encoding": opened.encoding}


def _use_columnar(opened: Opened, limits: dict) -> bool:
    """Take the polars reader for large UTF-8 CSV files, where per-row Python would dominate."""
    big = opened.size is None or opened.size >= limits["columnar_min_bytes"]
    return limits["columnar"] and big and opened.format == "csv" and opened.encoding == "utf-8-sig"


def _read_stream(opened: Opened, kind: str, builder: RowBuilder, limits: dict, progress: Progress) -> pl.DataFrame:
    """Read row by row, reporting progress every few thousand rows."""
    stats, text = builder.stats, opened.text()
    rows = iter_csv(text, kind, stats) if opened.format == "csv" else iter_json(text, kind, stats)
    for row, record in rows:
        if row > limits["max_rows"]:
            stats.truncated = True
            break
        stats.rows = row
        if record is not None:
            builder.add(row, record)
        if progress and row % PROGRESS_EVERY == 0:
            progress(opened.fraction())
    return builder.frame()
