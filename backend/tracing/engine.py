"""Run one skip trace end to end: parse, classify, score, and rank candidates with their evidence."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from .context import Context, build_books, find_lenders, owner_relationships
from .newnumber import Graph, NewNumberFinder
from .parsing import Source, read_records
from .people import debtor_view, find_associates, find_kin
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
    contacts, contact_stats = _read(contacts_source, "contacts", read, _scaled(progress, 0.0, 0.1))
    calls, call_stats = _read(calls_source, "calls", read, _scaled(progress, 0.1, 0.85))
    parsed = time.perf_counter()
    stats = {"contacts": contact_stats, "calls": call_stats,
             "numbers": {"distinct_raw": len(normalizer.raw_cache), "parsed": normalizer.parsed},
             "set_aside": _set_aside(contacts, calls, own)}
    excluded = frozenset(normalizer.e164(n) or n for n in excluded_numbers)
    ctx = _context(contacts, calls, own, debtor_name, policy, now, excluded, tz)
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


def _read(source: Source | None, kind: str, options: dict, progress) -> tuple[pl.DataFrame, dict]:
    """Read one optional upload."""
    from .fields import SCHEMAS

    if source is None:
        return pl.DataFrame(schema=SCHEMAS[kind]), {"rows": 0, "accepted": 0, "bad_rows": 0, "bad": {},
                                                    "samples": [], "missing": True}
    return read_records(source, kind, progress=progress, **options)


def _set_aside(contacts: pl.DataFrame, calls: pl.DataFrame, own: frozenset[str]) -> dict:
    """Count service, invalid and own numbers kept out of the candidates, with a few samples."""
    rows = pl.concat([contacts.select("number", "kind"), calls.select("number", "kind")])
    result = {}
    for name, mask in ((SERVICE, pl.col("kind") == SERVICE), (INVALID, pl.col("kind") == INVALID),
                       ("own", pl.col("number").is_in(list(own)))):
        hit = rows.filter(mask)
        numbers = hit["number"].unique(maintain_order=True)
        result[name] = {"rows": hit.height, "numbers": numbers.len(),
                        "samples": numbers.head(SET_ASIDE_SAMPLES).to_list()}
    return result


def _context(contacts: pl.DataFrame, calls: pl.DataFrame, own: frozenset[str], debtor_name: str | None,
             policy: dict, now: datetime | None, excluded: frozenset[str], tz: ZoneInfo) -> Context:
    """Keep person numbers only and build the shared context."""
    people = calls.filter(pl.col("kind").is_in(list(PERSON_KINDS)) & (pl.col("owner") != pl.col("number")))
    people = people.filter(~(pl.col("owner").is_in(list(own)) & pl.col("number").is_in(list(own))))
    now = now or datetime.now(UTC)
    books = build_books(contacts, debtor_name)
    ctx = Context(own=own, debtor_name=debtor_name, policy=policy, now_ts=int(now.timestamp()), tz=tz,
                  calls=with_local_time(people, policy["timezone"]), books=books, excluded=excluded,
                  lenders=find_lenders(books))
    ctx.owner_relationship = owner_relationships(ctx)
    return ctx


def _candidates(ctx: Context, stats: dict) -> list[dict]:
    """Score every kind, keep each number once (new number over kin over associate) and rank."""
    edges = with_tie(pair_features(ctx.calls.rename({"owner": "a", "number": "b"}), ctx.policy), ctx.policy)
    view = {row["b"]: row for row in debtor_view(ctx, edges).iter_rows(named=True)}
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
    return {
        "lenders": {"numbers": len(lenders), "samples": [{"number": n, "name": name} for n, name in lenders[:20]]},
        "excluded": len(ctx.excluded),
        "owners": [{"number": owner, "role": "debtor" if owner in ctx.own else "third_party",
                    "relationship": ctx.owner_relationship.get(owner),
                    "calls": ctx.calls.filter(pl.col("owner") == owner).height}
                   for owner in sorted(set(ctx.calls["owner"].unique().to_list()) | set(ctx.books))],
        "counterparts": ctx.calls["number"].n_unique(),
        "candidates": {kind: sum(c["kind"] == kind for c in candidates) for kind in KIND_ORDER},
    }
