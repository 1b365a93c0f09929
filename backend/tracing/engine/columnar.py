"""Columnar fast path for large call-record CSVs: polars reads, Python parses each distinct value once."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from . import fields as F
from .phones import Normalizer

BATCH_ROWS = 250_000
# A column this short is mapped through a dict in Python: a few thousand lookups cost less than polars' joins.
SMALL_BATCH = 20_000
FEW = 16  # a Mapper with at most this many distinct values compares instead of joining
# Vectorised timestamp formats, tried in order on the rows still unparsed; the rest go to the Python parser,
# which accepts every one of these, so both readers agree.
NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")
AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z")
# The format a timestamp of each length usually has, tried first until a file shows what it uses.
USUAL_FORMAT = {19: NAIVE_FORMATS[0], 16: NAIVE_FORMATS[2], 24: AWARE_FORMATS[0], 25: AWARE_FORMATS[0],
                10: "epoch", 13: "epoch_ms"}
# Which raw column to sample for each bad-row reason.
REASON_FIELD = {F.BAD_OWNER: "owner_number", F.BAD_NUMBER: "number", F.BAD_TIME: "started_at",
                F.BAD_DIRECTION: "direction", F.BAD_DURATION: "duration_s", F.NEGATIVE: "duration_s"}


class Mapper:
    """Map a string column through Python, once per distinct value ever seen: fn maps a list of values to rows."""

    def __init__(self, fn: Callable[[list[str]], list[tuple]], dtypes: dict[str, pl.DataType]):
        self.fn, self.dtypes = fn, dtypes
        self.keys: dict[str, int] = {}  # value → its row in values
        self.values = pl.DataFrame(schema=dtypes)
        self._index: pl.DataFrame | None = None

    def __call__(self, column: pl.Series) -> pl.DataFrame:
        """Return one frame of mapped columns, row for row; nulls are mapped as the empty string."""
        keys = column.fill_null("")
        if keys.is_empty():
            return self.values.clear()
        if keys.len() <= SMALL_BATCH:
            return self._small(keys.to_list())
        if not self.keys:
            self._learn(keys.unique().to_list())
        rows = self._rows(keys)
        if rows.null_count():  # values this batch brings for the first time: learn them, look up those rows again
            missing = rows.is_null().arg_true()
            fresh = keys.gather(missing)
            self._learn(fresh.unique().to_list())
            rows = rows.scatter(missing, self._rows(fresh))
        return self.values.lazy().select(pl.all().gather(rows)).collect()

    def _small(self, keys: list[str]) -> pl.DataFrame:
        """The same for a few thousand values: looked up in the dict, where polars' fixed costs would dominate."""
        known = self.keys
        fresh = [key for key in dict.fromkeys(keys) if key not in known]  # in order first seen: ids stay stable
        if fresh:
            self._learn(fresh)
        return self.values[pl.Series([known[key] for key in keys], dtype=pl.UInt32)]

    def _learn(self, fresh: list[str]) -> None:
        """Map values never seen before and append them to the table."""
        values, first = self.fn(fresh), len(self.keys)
        self.keys.update(zip(fresh, range(first, first + len(fresh)), strict=True))
        columns = {name: [v[i] for v in values] for i, name in enumerate(self.dtypes)}
        # One chunk each: they are gathered from or joined for every row of every batch.
        self.values = pl.concat([self.values, pl.DataFrame(columns, schema=self.dtypes)], rechunk=True)
        self._index = None

    @property
    def index(self) -> pl.DataFrame:
        """The table's keys and rows as a frame, to join a large batch on; built when first needed after a change."""
        if self._index is None:
            self._index = pl.DataFrame({"key": list(self.keys), "row": range(len(self.keys))},
                                       schema={"key": pl.String, "row": pl.UInt32})
        return self._index

    def _rows(self, keys: pl.Series) -> pl.Series:
        """Return each key's row in the table, null for keys not seen yet."""
        if len(self.keys) <= FEW:  # a handful of values (directions, owners): comparing beats hashing every row
            found = pl.when(pl.col("key") == next(iter(self.keys))).then(pl.lit(0, pl.UInt32))
            for value, row in list(self.keys.items())[1:]:
                found = found.when(pl.col("key") == value).then(pl.lit(row, pl.UInt32))
            return keys.to_frame("key").lazy().select(found.alias("row")).collect().to_series()
        return keys.to_frame("key").join(self.index, on="key", how="left", maintain_order="left")["row"]


def each(fn: Callable[[str], object]) -> Callable[[list[str]], list[tuple]]:
    """Turn a function of one value into a Mapper's function of a list of values."""
    return lambda values: [(fn(value),) for value in values]


class CallBatches:
    """Parse batches of raw call columns into typed columns, null where a value cannot be read."""

    def __init__(self, normalizer: Normalizer, tz: ZoneInfo, default_owner: str | None):
        def owner(raw: str) -> int | None:
            return normalizer.id_of(normalizer(raw).e164 if raw.strip() else default_owner)

        def numbers(raws: list[str]) -> list[tuple]:
            return [(normalizer.id_of(phone.e164), phone.kind) for phone in normalizer.many(raws)]

        self.owner = Mapper(each(owner), {"oid": pl.UInt32})
        self.number = Mapper(numbers, {"nid": pl.UInt32, "kind": pl.String})
        self.direction = Mapper(each(F.parse_direction), {"out": pl.Boolean})
        self.duration = Mapper(each(F.parse_duration), {"dur": pl.Int64})
        self.timestamps = Timestamps(tz)

    def parse(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Return the row number and typed columns, nulls where a value is bad (see _good and _reason)."""
        blank = _blank(raw.height)
        return pl.concat([
            raw.select("row"),
            self.owner(raw["owner_number"] if "owner_number" in raw.columns else blank),
            self.number(raw["number"]),
            self.direction(raw["direction"]),
            self.timestamps(raw["started_at"]).to_frame(),
            self.duration(raw["duration_s"] if "duration_s" in raw.columns else blank),
        ], how="horizontal")


class Timestamps:
    """Parse timestamp columns to epoch seconds, vectorised where a format fits, in Python where none does."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.formats = (*NAIVE_FORMATS, *AWARE_FORMATS, "epoch", "epoch_ms")
        self.hits: dict[tuple[int, str], int] = {}
        self.slow_ts = Mapper(each(lambda raw: F.parse_timestamp(raw, tz)), {"ts": pl.Int64})

    def __call__(self, column: pl.Series) -> pl.Series:
        """Parse each length with its likeliest format in one pass; strip and retry the rows left over."""
        # Formats never overlap (a string fits one at most) and any that fits gives the same moment, so the
        # order formats are tried in changes speed only.
        frame = pl.DataFrame({"t": column.fill_null(""), "n": column.str.len_bytes().fill_null(0)})
        samples = frame.unique("n", keep="first", maintain_order=True).rows()  # one timestamp of each length
        routes = {length: self._likeliest(length, text) for text, length in samples if length}
        routes = {length: fmt for length, fmt in routes.items() if fmt}
        if not routes:
            return self._leftovers(frame["t"], pl.repeat(None, frame.height, dtype=pl.Int64, eager=True).alias("ts"))
        parsed = frame.lazy().select(self._parse_as(pl.when(pl.col("n") == length).then(pl.col("t")), fmt)
                                     .alias(str(length)) for length, fmt in routes.items()).collect()
        for (length, fmt), part in zip(routes.items(), parsed.iter_columns(), strict=True):
            self._hit(length, fmt, part.len() - part.null_count())
        return self._leftovers(frame["t"], parsed.select(pl.coalesce(pl.all()).alias("ts")).to_series())

    def _likeliest(self, length: int, sample: str) -> str | None:
        """Return the format that parsed most timestamps of this length so far, else the one a sample fits."""
        counts = {fmt: self.hits.get((length, fmt), 0) for fmt in self.formats}
        best = max(counts, key=counts.get)
        if counts[best]:
            return best
        usual = USUAL_FORMAT.get(length)
        if usual is None or _fits(sample, usual):
            return usual
        # A file's first batch: 2024/05/01 08:30 is as common as 2024-05-01 08:30. Only a guess for speed;
        # rows the guess does not parse are tried with every format in _leftovers.
        return next((fmt for fmt in self.formats if _fits(sample, fmt)), usual)

    def _hit(self, length: int, fmt: str, found: int) -> None:
        """Count how many timestamps of one length a format parsed."""
        if found:
            self.hits[(length, fmt)] = self.hits.get((length, fmt), 0) + found

    def _leftovers(self, raw: pl.Series, result: pl.Series) -> pl.Series:
        """Parse the non-empty rows still unparsed the thorough way, scattering them into result."""
        index = (result.is_null() & (raw != "")).arg_true()
        if index.is_empty():
            return result
        text = raw.gather(index).str.strip_chars()
        rows = pl.DataFrame({"i": index, "t": text, "n": text.str.len_bytes()})
        # Rows of one length nearly always share a format: try first what parsed that length before.
        for (length,), part in rows.partition_by("n", as_dict=True).items():
            if length:
                result = self._parse_length(length, part["i"], part["t"], result)
        return result

    def _parse_length(self, length: int, index: pl.Series, text: pl.Series, result: pl.Series) -> pl.Series:
        """Parse the timestamps of one length, scattering them into result."""
        order = sorted(self.formats, key=lambda fmt: self.hits.get((length, fmt), 0), reverse=True)
        for fmt in [*order, "slow"]:
            if fmt == "slow":
                parsed = self.slow_ts(text)["ts"]
            else:
                parsed = text.to_frame("t").select(self._parse_as(pl.col("t"), fmt)).to_series()
            ok = parsed.is_not_null()
            found = int(ok.sum())
            if found:
                self._hit(length, fmt, found)
                result = result.scatter(index.filter(ok), parsed.filter(ok))
            if found == len(text):
                break
            text, index = text.filter(~ok), index.filter(~ok)
        return result

    def _parse_as(self, text: pl.Expr, fmt: str) -> pl.Expr:
        """Parse text with one format to epoch seconds, null where it does not fit."""
        if fmt.startswith("epoch"):
            width, scale = (13, 1000) if fmt == "epoch_ms" else (10, 1)
            # ASCII digits only: other digits do not cast, and fall through to the Python parser anyway.
            fits = text.str.contains(rf"^[0-9]{{{width}}}$")
            return pl.when(fits).then(text.cast(pl.Int64, strict=False) // scale)
        # No cache: timestamps are nearly all distinct, so memoising them costs more than it saves.
        parsed = text.str.to_datetime(fmt, strict=False, exact=True, time_unit="us", cache=False)
        if fmt in NAIVE_FORMATS:
            parsed = parsed.dt.replace_time_zone(str(self.tz), ambiguous="earliest", non_existent="null")
        return parsed.dt.epoch("s")


def _fits(sample: str, fmt: str) -> bool:
    """Tell whether one timestamp looks written in a format (a guess: polars has the last word)."""
    if fmt.startswith("epoch"):
        return sample.isascii() and sample.isdigit() and len(sample) == (13 if fmt == "epoch_ms" else 10)
    try:
        datetime.strptime(sample, fmt)
    except ValueError:
        return False
    return True


def _blank(height: int) -> pl.Series:
    """Return a column of empty strings, for an optional column the file does not have."""
    return pl.repeat("", height, eager=True, dtype=pl.String)


def _good() -> pl.Expr:
    """Return whether a typed row is good: every value read, and the duration not negative."""
    return pl.all_horizontal(pl.col("oid", "nid", "ts", "out", "dur").is_not_null()) & (pl.col("dur") >= 0)


def _reason() -> pl.Expr:
    """Return the first reason a row is bad, checked in the same order as the streaming reader."""
    checks = [(pl.col("oid").is_null(), F.BAD_OWNER), (pl.col("nid").is_null(), F.BAD_NUMBER),
              (pl.col("ts").is_null(), F.BAD_TIME), (pl.col("out").is_null(), F.BAD_DIRECTION),
              (pl.col("dur").is_null(), F.BAD_DURATION), (pl.col("dur") < 0, F.NEGATIVE)]
    expr = pl.when(checks[0][0]).then(pl.lit(checks[0][1]))
    for condition, reason in checks[1:]:
        expr = expr.when(condition).then(pl.lit(reason))
    return expr.otherwise(None)


class Loading:
    """A call-record CSV whose columns polars has started reading on its own threads."""

    def __init__(self, opened, limits: dict):
        self.header = next(csv.reader(io.StringIO(opened.head.decode("utf-8-sig", errors="replace"))), [])
        positions = F.header_map(self.header, "calls")
        self.missing = [name for name in F.REQUIRED["calls"] if name not in positions]
        self.batches: Iterator[pl.DataFrame] = iter(())
        if self.missing:
            return
        source = opened.path or opened.whole or (opened.head + opened.raw.read())
        scan = pl.scan_csv(source, infer_schema=False, n_rows=limits["max_rows"] + 1, truncate_ragged_lines=True,
                           encoding="utf8-lossy")
        scan = scan.select(pl.nth(at).alias(name) for name, at in positions.items())
        # Blank lines get no row number, as in the streaming reader.
        scan = scan.filter(~pl.all_horizontal(pl.all().is_null())).with_row_index("row", offset=1)
        # Starting the iterator starts the read: batches pile up while the caller reads the phone books.
        self.batches = iter(scan.collect_batches(chunk_size=BATCH_ROWS))


def read_calls_csv(opened, *, normalizer: Normalizer, tz: ZoneInfo, default_owner: str | None,
                   stats: F.RowStats, limits: dict, progress=None) -> pl.DataFrame:
    """Read a call-record CSV in batches with polars; same result and stats as the streaming reader."""
    loading = opened.loading or Loading(opened, limits)
    if loading.missing:
        stats.reject(0, ",".join(loading.missing), loading.header, "missing_column")
        return pl.DataFrame(schema=F.CALLS_SCHEMA)
    batches, parser, done = [], CallBatches(normalizer, tz, default_owner), 0
    estimate = _estimate_rows(opened)
    for raw in loading.batches:
        done += _add_batch(raw, parser, batches, stats, limits)
        stats.rows = done
        if progress:
            progress(min(0.99, done / max(estimate, 1)))
    return pl.concat(batches) if batches else pl.DataFrame(schema=F.CALLS_SCHEMA)


def _add_batch(raw: pl.DataFrame, parser: CallBatches, batches: list, stats: F.RowStats, limits: dict) -> int:
    """Parse one batch, count its bad rows, keep its good ones and return how many rows it had."""
    if raw["row"].max() > limits["max_rows"]:
        stats.truncated = True
        raw = raw.filter(pl.col("row") <= limits["max_rows"])
    typed = parser.parse(raw)
    good = typed.lazy().select(_good()).collect().to_series()
    if good.all():  # the usual case: no filter to run
        batches.append(typed.select(list(F.CALLS_SCHEMA)))
        return raw.height
    # Reasons only for the few bad rows: a chain of string literals costs on every row.
    _count_bad(typed.filter(~good).with_columns(reason=_reason()), raw, stats)
    batches.append(typed.lazy().filter(good).select(list(F.CALLS_SCHEMA)).collect())
    return raw.height


def _count_bad(bad: pl.DataFrame, raw: pl.DataFrame, stats: F.RowStats) -> None:
    """Add one batch's bad rows to the stats, sampling the first few with their raw value."""
    bad = bad.select("row", "reason")
    room = stats.max_samples - len(stats.samples)
    sampled = bad.head(max(room, 0)).join(raw, on="row", how="left")
    for record in sampled.iter_rows(named=True):
        field = REASON_FIELD[record["reason"]]
        stats.reject(record["row"], field, record.get(field), record["reason"])
    for reason, count in bad.slice(max(room, 0))["reason"].value_counts().iter_rows():
        stats.bad[reason] += count


def _estimate_rows(opened) -> int:
    """Estimate the row count from the file size and the sniffed head, for progress."""
    lines = opened.head.count(b"\n")
    if not opened.size or not lines:
        return 1
    return int(opened.size / (len(opened.head) / lines))
