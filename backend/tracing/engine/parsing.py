"""Stream contacts and call records from CSV or JSON; bad rows are counted and sampled, never fatal."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import polars as pl

from . import columnar
from . import fields as F
from .jsonstream import iter_items
from .phones import Normalizer, Phone

Source = str | os.PathLike | BinaryIO | bytes
Progress = Callable[[float], None] | None

HEAD_BYTES = 1 << 16
PROGRESS_EVERY = 20_000
# What the streaming reader collects per accepted call, before owner and number become ids.
_CALL_VALUES = {"owner": pl.String, "number": pl.String, "kind": pl.String, "out": pl.Boolean, "ts": pl.Int64,
                "dur": pl.Int64}


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
        self.whole = source if isinstance(source, bytes) else None  # handed to polars as it is: no copy
        if self.path:
            self.raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        else:
            self.raw = io.BytesIO(source) if isinstance(source, bytes) else source
        self.size = _size(self.raw)
        self.head = self.raw.read(HEAD_BYTES)
        self.format = fmt or _sniff_format(self.head, self.path)
        self.encoding = _sniff_encoding(self.head)
        self.stream = _Stream(self.head, self.raw)
        self.loading: columnar.Loading | None = None  # set when the columnar reader has started

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
        # Typed values, one list per column; calls keep E.164 strings until frame() turns them into ids.
        self.columns: list[list] = [[] for _name in (_CALL_VALUES if kind == "calls" else F.CONTACTS_SCHEMA)]
        self.durations: dict[str, int | None] = {}
        self.directions: dict[str | None, bool | None] = {}

    def add(self, rows: list[int], columns: dict[str, list], bad: dict[int, str]) -> None:
        """Validate a chunk of records given as raw columns, in row order; bad maps a bad record to its sample."""
        blank = [None] * len(rows)
        owners, numbers = columns.get("owner_number", blank), columns.get("number", blank)
        # Each distinct string is parsed once anyway; many() takes the quick way for plain mobiles.
        phones = (self.normalizer.many(numbers) if None not in numbers
                  else [self.normalizer(raw) for raw in numbers])
        reject, append = self.stats.reject, self._call if self.kind == "calls" else self._contact
        for at, row in enumerate(rows):
            if at in bad:
                reject(row, "record", bad[at], F.BAD_RECORD)
                continue
            owner, phone = self._owner(row, owners[at]), phones[at]
            if owner is None:
                continue
            if phone.e164 is None:
                reject(row, "number", numbers[at], F.BAD_NUMBER)
                continue
            append(row, at, columns, owner, phone)

    def _owner(self, row: int, raw: str | None) -> str | None:
        """Return the owner's E.164, the debtor's number when absent, None (rejected) when unreadable."""
        if raw is None or not raw.strip():
            return self.default_owner
        e164 = self.normalizer(raw).e164
        if e164 is None:
            self.stats.reject(row, "owner_number", raw, F.BAD_OWNER)
        return e164

    def _contact(self, _row: int, at: int, columns: dict[str, list], owner: str, phone: Phone) -> None:
        """Append one phone-book entry."""
        name = columns["name"][at] if "name" in columns else None
        owners, names, numbers, kinds = self.columns
        owners.append(owner)
        names.append((name or "").strip())
        numbers.append(phone.e164)
        kinds.append(phone.kind)

    def _call(self, row: int, at: int, columns: dict[str, list], owner: str, phone: Phone) -> None:
        """Parse the call fields of one record and append it, or reject it."""
        started, direction = columns["started_at"][at], columns["direction"][at]
        duration = columns["duration_s"][at] if "duration_s" in columns else None
        ts = F.parse_timestamp(started, self.tz)
        if ts is None:
            return self.stats.reject(row, "started_at", started, F.BAD_TIME)
        out = self.directions.get(direction)
        if direction not in self.directions:
            out = self.directions[direction] = F.parse_direction(direction)
        if out is None:
            return self.stats.reject(row, "direction", direction, F.BAD_DIRECTION)
        key = duration or ""
        dur = self.durations[key] if key in self.durations else self.durations.setdefault(key, F.parse_duration(key))
        if dur is None:
            return self.stats.reject(row, "duration_s", duration, F.BAD_DURATION)
        if dur < 0:
            return self.stats.reject(row, "duration_s", duration, F.NEGATIVE)
        for column, value in zip(self.columns, (owner, phone.e164, phone.kind, out, ts, dur), strict=True):
            column.append(value)

    def frame(self) -> pl.DataFrame:
        """Return the accepted rows as a DataFrame, with the number ids for calls."""
        if self.kind == "contacts":
            return pl.DataFrame(dict(zip(F.CONTACTS_SCHEMA, self.columns, strict=True)), schema=F.CONTACTS_SCHEMA)
        frame = pl.DataFrame(dict(zip(_CALL_VALUES, self.columns, strict=True)), schema=_CALL_VALUES)
        return frame.with_columns(oid=self._ids(frame["owner"]), nid=self._ids(frame["number"])).select(
            list(F.CALLS_SCHEMA))

    def _ids(self, numbers: pl.Series) -> pl.Series:
        """Map E.164 numbers to their ids, each distinct number looked up once."""
        ids = {number: self.normalizer.id_of(number) for number in numbers.unique(maintain_order=True).to_list()}
        return numbers.replace_strict(ids, return_dtype=pl.UInt32) if ids else numbers.cast(pl.UInt32)


class CsvRows:
    """The rows of a CSV upload as (row number, values); row 1 is the first line after the header."""

    def __init__(self, text: io.TextIOWrapper, kind: str, stats: F.RowStats):
        reader = csv.reader(text)
        header = next(reader, None) or []
        self.positions = F.header_map(header, kind)
        missing = [name for name in F.REQUIRED[kind] if name not in self.positions]
        if missing:
            stats.reject(0, ",".join(missing), header, "missing_column")
        # Blank lines get no row number, as in the columnar reader.
        self.rows: Iterator = iter(()) if missing else enumerate(filter(None, reader), start=1)

    def columns(self, chunk: list[tuple[int, list[str]]]) -> dict[str, list]:
        """Return the raw columns of a chunk of rows; a short row has None in its missing cells."""
        return {name: [values[at] if at < len(values) else None for _row, values in chunk]
                for name, at in self.positions.items()}


def iter_json(text: io.TextIOWrapper, kind: str) -> Iterator[tuple[int, dict | str]]:
    """Yield (row number, record) from a JSON array, JSON Lines, or one object wrapping an array.

    An item that is not an object comes as the string to sample it by: the reader rejects it in row order.
    """
    for row, item in enumerate(iter_items(text), start=1):
        if not isinstance(item, dict):
            yield row, str(item)[:80]
            continue
        record = {}
        for key, value in item.items():
            name = F.canonical_key(str(key), kind)
            if name and name not in record:
                record[name] = None if value is None else str(value)
        yield row, record


def open_upload(source: Source, kind: str, limits: dict, fmt: str | None = None) -> Opened:
    """Open and sniff one upload; a call-record CSV for the columnar reader starts loading right away."""
    opened = Opened(source, fmt)
    try:
        if kind == "calls" and _use_columnar(opened, limits):
            opened.loading = columnar.Loading(opened, limits)
    except BaseException:
        opened.close()
        raise
    return opened


def read_records(source: Source | Opened, kind: str, *, normalizer: Normalizer, tz: ZoneInfo,
                 default_owner: str | None, limits: dict, progress: Progress = None,
                 fmt: str | None = None) -> tuple[pl.DataFrame, dict]:
    """Read one upload of `kind` ('calls' or 'contacts'), raw or open_upload()ed, into a typed frame and stats."""
    stats = F.RowStats(limits["max_samples"])
    opened = source if isinstance(source, Opened) else open_upload(source, kind, limits, fmt)
    try:
        if opened.loading is not None:
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
    """Read in chunks of rows, validated column by column, reporting progress every few thousand rows."""
    stats, text = builder.stats, opened.text()
    if opened.format == "csv":
        source = CsvRows(text, kind, stats)
        rows, columns = source.rows, source.columns
    else:
        rows, columns = iter_json(text, kind), partial(_json_columns, kind=kind)
    while True:
        chunk = list(islice(rows, min(PROGRESS_EVERY, limits["max_rows"] + 1 - stats.rows)))
        over = chunk.pop() if chunk and chunk[-1][0] > limits["max_rows"] else None
        if chunk:
            builder.add([row for row, _record in chunk], columns(chunk),
                        {at: record for at, (_row, record) in enumerate(chunk) if isinstance(record, str)})
            stats.rows = chunk[-1][0]
        if over:
            stats.truncated = True
            if isinstance(over[1], str):  # as reading record by record did: a bad record is counted when read
                stats.reject(over[0], "record", over[1], F.BAD_RECORD)
        if stats.truncated or len(chunk) < PROGRESS_EVERY:
            break
        if progress and stats.rows % PROGRESS_EVERY == 0:
            progress(opened.fraction())
    return builder.frame()


def _json_columns(chunk: list[tuple[int, dict | str]], kind: str) -> dict[str, list]:
    """Return the raw columns of a chunk of JSON records; None where a record lacks a field or is bad."""
    return {name: [record.get(name) if isinstance(record, dict) else None for _row, record in chunk]
            for name in F.COLUMNS[kind]}
