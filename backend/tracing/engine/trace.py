"""Run one skip trace end to end: parse, classify, score, and rank candidates with their evidence."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from .context import Context, build_books, find_lenders, owner_relationships
from .kinship import classify_name
from .newnumber import Graph, NewNumberFinder
from .parsing import Opened, Source, open_upload, read_records
from .people import debtor_counterparts, find_associates, find_kin
from .phones import INVALID, PERSON_KINDS, SERVICE, Normalizer
from .scoring import DEFAULTS, LIMITS, merged, pair_features, undirected_edges, with_local_time, with_tie

KIND_ORDER = {"new_number": 0, "kin": 1, "associate": 2}
SET_ASIDE_SAMPLES = 10


@dataclass
class TraceResult:
    """Ranked candidates (new numbers, then kin, then associates, best first) and what happened to the input."""

    candidates: list[dict]
    stats: dict


def run_trace(contacts_source: Source | None, calls_source: Source | None, *, debtor_numbers: list[str],
              debtor_name: str | None = None, default_region: str = "CN",
              excluded_numbers: frozenset[str] = frozenset(), now: datetime | None = None,
              progress: Callable[[float], None] | None = None, limits: Mapping | None = None,
              policy: Mapping | None = None) -> TraceResult:
    """Trace a lost debtor through uploaded phone books and call records."""
    started = time.perf_counter()
    policy, limits = merged(DEFAULTS, policy), merged(LIMITS, limits)
    normalizer = Normalizer(default_region)
    own = _own_numbers(debtor_numbers, normalizer)
    tz = ZoneInfo(policy["timezone"])
    read = {"normalizer": normalizer, "tz": tz, "default_owner": sorted(own)[0] if own else None,
            "limits": limits}
    # Open the call records first: a large CSV loads on polars' threads while the phone books are read.
    calls_upload = None if calls_source is None else open_upload(calls_source, "calls", limits)
    try:
        contacts, contact_stats = _read(contacts_source, "contacts", read, _scaled(progress, 0.0, 0.1))
        calls, call_stats = _read(calls_upload, "calls", read, _scaled(progress, 0.1, 0.85))
    finally:
        if calls_upload is not None:
            calls_upload.close()
    parsed = time.perf_counter()
    stats = {"contacts": contact_stats, "calls": call_stats,
             "numbers": {"distinct_raw": len(normalizer.raw_cache), "parsed": normalizer.parsed},
             "set_aside": _set_aside(contacts, calls, own, normalizer.ids)}
    excluded = frozenset(normalizer.e164(n) or n for n in excluded_numbers)
    ctx = _context(contacts, calls, own, debtor_name, policy, now, excluded, tz, normalizer.ids)
    candidates = _candidates(ctx, stats)
    stats.update(_summary(ctx, candidates, stats))
    stats["seconds"] = {"parse": round(parsed - started, 4), "score": round(time.perf_counter() - parsed, 4)}
    if progress:
        progress(1.0)
    return TraceResult(candidates, stats)


def _own_numbers(debtor_numbers: list[str], normalizer: Normalizer) -> frozenset[str]:
    """Normalise the debtor's known numbers; one that cannot be read is a caller error."""
    own = set()
    for raw in debtor_numbers:
        phone = normalizer(raw)
        if phone.e164 is None:
            raise ValueError(f"debtor_numbers: cannot read {raw!r} as a phone number")
        own.add(phone.e164)
    return frozenset(own)


def _scaled(progress: Callable[[float], None] | None, start: float, end: float):
    """Map a reader's 0..1 progress onto its share of the whole job."""
    return None if progress is None else (lambda fraction: progress(start + (end - start) * fraction))


def _read(source: Source | Opened | None, kind: str, options: dict, progress) -> tuple[pl.DataFrame, dict]:
    """Read one optional upload."""
    from .fields import SCHEMAS

    if source is None:
        return pl.DataFrame(schema=SCHEMAS[kind]), {"rows": 0, "accepted": 0, "bad_rows": 0, "bad": {},
                                                    "samples": [], "missing": True}
    return read_records(source, kind, progress=progress, **options)


# Up to this many rows in all (an everyday trace has 3,500), _set_aside counts in Python: one polars
# query's fixed cost is more than the loop there.
SET_ASIDE_PYTHON_MAX = 5_000


def _set_aside(contacts: pl.DataFrame, calls: pl.DataFrame, own: frozenset[str], ids: dict[str, int]) -> dict:
    """Count service, invalid and own numbers kept out of the candidates, with a few samples."""
    own_ids = [ids[number] for number in own if number in ids]
    if contacts.height + calls.height <= SET_ASIDE_PYTHON_MAX:
        counted = _set_aside_rows(contacts, calls, own, own_ids, list(ids))
    else:
        aside = (pl.col("kind") == SERVICE) | (pl.col("kind") == INVALID)
        numbers = pl.Series(list(ids), dtype=pl.String)  # id → E.164
        rows = pl.concat([contacts.lazy().filter(aside | pl.col("number").is_in(list(own))).select("number", "kind"),
                          calls.lazy().filter(aside | pl.col("nid").is_in(own_ids))
                          .select(number=pl.lit(numbers).gather(pl.col("nid")), kind="kind")])
        counted = rows.group_by("number", "kind", maintain_order=True).len().collect().iter_rows()
    hits: dict[str, dict[str, int]] = {SERVICE: {}, INVALID: {}, "own": {}}  # number → rows, in order first seen
    for number, kind, count in counted:
        for name in (kind, "own" if number in own else None):
            if name in hits:
                hits[name][number] = hits[name].get(number, 0) + count
    return {name: {"rows": sum(found.values()), "numbers": len(found), "samples": list(found)[:SET_ASIDE_SAMPLES]}
            for name, found in hits.items()}


def _set_aside_rows(contacts: pl.DataFrame, calls: pl.DataFrame, own: frozenset[str], own_ids: list[int],
                    numbers: list[str]) -> list[tuple[str, str, int]]:
    """(number, kind, rows) of the set-aside rows, phone books first, each pair in the order first seen:
    what the polars query in _set_aside gives, for frames small enough to loop over."""
    counts: dict[tuple[str, str], int] = {}
    aside = (SERVICE, INVALID)
    for number, kind in zip(contacts["number"].to_list(), contacts["kind"].to_list(), strict=True):
        if kind in aside or number in own:
            counts[number, kind] = counts.get((number, kind), 0) + 1
    own_ids = set(own_ids)
    for nid, kind in zip(calls["nid"].to_list(), calls["kind"].to_list(), strict=True):
        if kind in aside or nid in own_ids:
            key = (numbers[nid], kind)
            counts[key] = counts.get(key, 0) + 1
    return [(number, kind, count) for (number, kind), count in counts.items()]


def _context(contacts: pl.DataFrame, calls: pl.DataFrame, own: frozenset[str], debtor_name: str | None,
             policy: dict, now: datetime | None, excluded: frozenset[str], tz: ZoneInfo,
             ids: dict[str, int]) -> Context:
    """Keep person numbers only, add per-pair features and build the shared context."""
    own_ids = [ids[number] for number in own if number in ids]
    person = pl.col("kind").is_in(list(PERSON_KINDS)) & (pl.col("oid") != pl.col("nid"))
    people = calls.lazy().filter(person & ~(pl.col("oid").is_in(own_ids) & pl.col("nid").is_in(own_ids)))
    people = with_local_time(people.select("oid", "nid", "out", "ts", "dur").collect(), policy["timezone"])
    now = now or datetime.now(UTC)
    books = build_books(contacts, debtor_name)
    ctx = Context(own=own, debtor_name=debtor_name, policy=policy, now_ts=int(now.timestamp()), tz=tz,
                  calls=people, pairs=_pairs(people, list(ids), policy), books=books, excluded=excluded, ids=ids,
                  lenders=find_lenders(books))
    ctx.owner_relationship = owner_relationships(ctx)
    return ctx


def _pairs(people: pl.DataFrame, numbers: list[str], policy: dict) -> pl.DataFrame:
    """Return call features and tie per (record owner a, counterpart b), both as E.164."""
    number = pl.lit(pl.Series(numbers, dtype=pl.String))  # id → E.164
    features = pair_features(people.rename({"oid": "a", "nid": "b"}), policy)
    features = features.with_columns(a=number.gather(pl.col("a")), b=number.gather(pl.col("b")))
    return with_tie(features, policy).collect()


def _candidates(ctx: Context, stats: dict) -> list[dict]:
    """Score every kind, keep each number once (new number over kin over associate) and rank."""
    edges = ctx.pairs
    view = debtor_counterparts(ctx, edges)
    finder = NewNumberFinder(ctx, Graph.from_frame(undirected_edges(edges)))
    found = finder.find() + find_kin(ctx, view) + find_associates(ctx, view, stats)
    stats["new_number_ruled_out"] = finder.ruled_out
    stats["old_number_last_active"] = ctx.date(finder.silent_since)
    blocked = ctx.own | ctx.excluded | set(ctx.lenders)
    found.sort(key=lambda c: (KIND_ORDER[c["kind"]], -c["score"], c["number_e164"]))
    kept, seen, per_kind = [], set(), dict.fromkeys(KIND_ORDER, 0)
    for candidate in found:
        number, kind = candidate["number_e164"], candidate["kind"]
        if number in seen or number in blocked or per_kind[kind] >= ctx.policy["max_candidates"][kind]:
            continue
        seen.add(number)
        per_kind[kind] += 1
        kept.append(candidate)
    return kept


def _summary(ctx: Context, candidates: list[dict], stats: dict) -> dict:
    """Return what the specialist should know beside the candidates: lenders, exclusions, owners."""
    lenders = sorted(ctx.lenders.items())
    calls: dict[str, int] = {}
    for a, _b, _first, _last, n in ctx.pair_rows:
        calls[a] = calls.get(a, 0) + n
    return {
        "lenders": {"numbers": len(lenders), "samples": [{"number": n, "name": name} for n, name in lenders[:20]]},
        "excluded": len(ctx.excluded),
        "owners": [{"number": owner, "role": "debtor" if owner in ctx.own else "third_party",
                    "relationship": ctx.owner_relationship.get(owner),
                    "calls": calls.get(owner, 0)}
                   for owner in sorted(set(calls) | set(ctx.books))],
        "counterparts": len({b for _a, b, *_rest in ctx.pair_rows}),
        "candidates": {kind: sum(c["kind"] == kind for c in candidates) for kind in KIND_ORDER},
    }


def _warm_up() -> None:
    """Load phonenumbers metadata, compiled patterns and the kinship lexicon at import.

    The worker imports this module in its parent before forking a work horse per job, so each job
    starts warm. Polars is deliberately not touched here: its thread pool does not survive fork(),
    and a horse forked after polars ran in the parent can deadlock on its first query.
    """
    normalizer = Normalizer("CN")
    for raw in ("13800000001", "+86 139 0000 0003", "０１０-62345678", "95588", "17951 13700000004",
                "+44 20 7946 0958", "n/a"):
        normalizer.e164(raw)
    for name in ("妈妈", "张哥", "王经理", "Mom", "网贷客服"):
        classify_name(name, "张三")


_warm_up()
