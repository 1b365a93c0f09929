"""Column names and per-value parsers shared by the streaming and the columnar readers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl

# Canonical column → accepted spellings (compared lower-cased, stripped).
CONTACT_COLUMNS = {
    "owner_number": ("owner_number", "owner", "owner_phone", "book_owner", "本机号码"),
    "name": ("name", "contact_name", "display_name", "saved_name", "姓名", "名称", "备注"),
    "number": ("number", "phone", "phone_number", "mobile", "tel", "telephone", "号码", "电话", "手机"),
}
CALL_COLUMNS = {
    "owner_number": CONTACT_COLUMNS["owner_number"],
    "number": ("number", "counterpart", "other_number", "peer_number", "phone", "phone_number", "对方号码", "号码"),
    "direction": ("direction", "type", "call_type", "呼叫类型", "通话类型"),
    "started_at": ("started_at", "start_time", "started", "timestamp", "time", "datetime", "date", "开始时间",
                   "通话时间", "起始时间"),
    "duration_s": ("duration_s", "duration", "seconds", "duration_sec", "时长", "通话时长"),
}
REQUIRED = {"contacts": ("number",), "calls": ("number", "direction", "started_at")}
COLUMNS = {"contacts": CONTACT_COLUMNS, "calls": CALL_COLUMNS}

# Typed frames the readers produce: numbers in E.164, ts in epoch seconds, out = outgoing. Calls carry the owner's
# and the number's ids (oid, nid: Normalizer.id_of) instead: joins and group-bys then run on integers, and a
# million rows need not hold two million strings. kind is the number's.
CALLS_SCHEMA = {"oid": pl.UInt32, "nid": pl.UInt32, "kind": pl.String, "out": pl.Boolean, "ts": pl.Int64,
                "dur": pl.Int64}
CONTACTS_SCHEMA = {"owner": pl.String, "name": pl.String, "number": pl.String, "kind": pl.String}
SCHEMAS = {"calls": CALLS_SCHEMA, "contacts": CONTACTS_SCHEMA}

# Directions as exported by carriers and phones; Android's CallLog codes 1-3, 5 (rejected) count as inbound.
DIRECTIONS = {
    **dict.fromkeys(["out", "outgoing", "outbound", "o", "呼出", "去电", "主叫", "拨出", "已拨", "2"], True),
    **dict.fromkeys(["in", "incoming", "inbound", "i", "missed", "rejected", "呼入", "来电", "被叫", "接听", "已接",
                     "未接", "1", "3", "5"], False),
}
# Bad-row reasons, in the order a row is checked.
BAD_OWNER, BAD_NUMBER, BAD_TIME, BAD_DIRECTION, NEGATIVE, BAD_DURATION, BAD_RECORD = (
    "unparseable_owner_number", "unparseable_number", "bad_timestamp", "unknown_direction",
    "negative_duration", "bad_duration", "bad_record",
)

_DATETIME = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+|(?=\d))(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})秒?)?"
    r"(\.\d{1,9})?\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_HMS = re.compile(r"(?:(\d+)时)?(?:(\d+)分)?(?:(\d+)秒)?")
UTC = UTC


def header_map(header: list[str], kind: str) -> dict[str, int]:
    """Map canonical column names to positions in a header row; unknown columns are ignored."""
    wanted = COLUMNS[kind]
    found: dict[str, int] = {}
    for position, column in enumerate(header):
        key = (column or "").strip().lstrip("\ufeff").lower()
        for canonical, spellings in wanted.items():
            if key in spellings and canonical not in found:
                found[canonical] = position
    return found


def canonical_key(key: str, kind: str) -> str | None:
    """Return the canonical column name for one JSON key."""
    key = key.strip().lower()
    return next((name for name, spellings in COLUMNS[kind].items() if key in spellings), None)


def _offset(text: str | None) -> timezone | None:
    """Turn 'Z', '+08', '+0800' or '+08:00' into a fixed offset."""
    if not text:
        return None
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def parse_timestamp(text: str | None, tz: ZoneInfo) -> int | None:
    """Parse one timestamp to epoch seconds; naive times are local to `tz`; None when unreadable."""
    text = (text or "").strip()
    if text.isdigit():
        if len(text) == 13:  # milliseconds, as phones export them
            return int(text) // 1000
        return int(text) if len(text) == 10 else None
    match = _DATETIME.fullmatch(text)
    if not match:
        return None
    y, mo, d, h, mi, s, _fraction, off = match.groups()
    try:
        moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=_offset(off) or tz)
    except ValueError:
        return None
    return int(moment.timestamp())


def parse_duration(text: str | None) -> int | None:
    """Parse seconds ('95', '95.0', '1:35', '00:01:35', '1分35秒'); empty means 0; negative stays negative."""
    text = (text or "").strip()
    if not text:
        return 0
    try:
        return int(float(text))
    except (ValueError, OverflowError):
        pass
    parts = text.split(":")
    if 2 <= len(parts) <= 3 and all(part.isdigit() for part in parts):
        parts = ["0"] * (3 - len(parts)) + parts
    else:
        match = _HMS.fullmatch(text.replace(" ", "").replace("小时", "时"))
        if not match or not any(match.groups()):
            return None
        parts = match.groups()
    h, m, s = (int(part or 0) for part in parts)
    return h * 3600 + m * 60 + s


def parse_direction(text: str | None) -> bool | None:
    """Return True for outgoing, False for incoming, None when unknown."""
    return DIRECTIONS.get((text or "").strip().lower())


class RowStats:
    """Count rows and bad rows per reason, keeping the first few samples."""

    def __init__(self, max_samples: int = 20):
        self.rows = 0
        self.bad: Counter[str] = Counter()
        self.samples: list[dict] = []
        self.max_samples = max_samples
        self.truncated = False
        self.reader = "stream"

    def reject(self, row: int, field: str, value, reason: str) -> None:
        """Record one bad row."""
        self.bad[reason] += 1
        if len(self.samples) < self.max_samples:
            self.samples.append({"row": row, "field": field, "value": value, "reason": reason})

    def as_dict(self) -> dict:
        """Return the counts as plain data."""
        bad = sum(self.bad.values())
        return {"rows": self.rows, "accepted": self.rows - bad, "bad_rows": bad, "bad": dict(self.bad),
                "samples": self.samples, "truncated": self.truncated, "reader": self.reader}
