"""Kin and associate candidates: who the debtor talks to, and what the phone books call them."""

from __future__ import annotations

import polars as pl

from .context import Context
from .kinship import KIN, PLAIN, inverse_relationship
from .scoring import recency_cap

STALE_FLAG_CAP = 0.9


def debtor_view(ctx: Context, edges: pl.DataFrame) -> pl.DataFrame:
    """Return features and tie per counterpart of the debtor's numbers, seen from the debtor's side.

    `edges` has one row per (record owner a, counterpart b); a call between the debtor and an uploaded third
    party is in both records, so only the fuller side counts.
    """
    own, lazy = list(ctx.own), edges.lazy()
    mine = lazy.filter(pl.col("a").is_in(own) & ~pl.col("b").is_in(own))
    theirs = lazy.filter(pl.col("b").is_in(own) & ~pl.col("a").is_in(own)).with_columns(
        b=pl.col("a"), n_in=pl.col("n_out"), n_out=pl.col("n_in"), talk_in=pl.col("talk_out"),
        talk_out=pl.col("talk_in"))
    rows = pl.concat([mine, theirs.select(edges.columns)])
    # A stable sort: on a tie the debtor's own record (first in rows) wins.
    return rows.sort("n", descending=True, maintain_order=True).unique("b", keep="first").collect()


# Up to this many pair rows, debtor_counterparts reads them in Python: cheaper than one polars query.
VIEW_PYTHON_MAX = 20_000
# Seen from the debtor's side, a row of the counterpart's record has these columns swapped.
_SWAPPED = {"b": "a", "n_in": "n_out", "n_out": "n_in", "talk_in": "talk_out", "talk_out": "talk_in"}


def debtor_counterparts(ctx: Context, edges: pl.DataFrame) -> dict[str, dict]:
    """debtor_view() as counterpart → row: the same rows (the order of a dict does not matter to its readers)."""
    if edges.height > VIEW_PYTHON_MAX:
        return {row["b"]: row for row in debtor_view(ctx, edges).iter_rows(named=True)}
    own, names = ctx.own, edges.columns
    a, b = edges.get_column("a").to_list(), edges.get_column("b").to_list()
    mine = [i for i in range(edges.height) if a[i] in own and b[i] not in own]
    theirs = [i for i in range(edges.height) if b[i] in own and a[i] not in own]
    if not mine and not theirs:
        return {}
    columns = {name: edges.get_column(name).to_list() for name in names}
    rows = [{name: columns[name][i] for name in names} for i in mine]
    rows += [{name: columns[_SWAPPED.get(name, name)][i] for name in names} for i in theirs]
    view: dict[str, dict] = {}
    for row in sorted(rows, key=lambda row: -row["n"]):  # stable: on a tie the debtor's own record wins
        view.setdefault(row["b"], row)
    return view


def call_facts(row: dict | None, ctx: Context) -> dict | None:
    """Return the readable call summary of one counterpart."""
    if not row:
        return None
    n = row["n"]
    return {"out": row["n_out"], "in": row["n_in"], "talk_minutes": round(row["talk"] / 60, 1),
            "active_days": row["days"], "first": ctx.date(row["first"]), "last": ctx.date(row["last"]),
            "evening_share": round(row["evening"] / n, 2), "weekend_share": round(row["weekend"] / n, 2),
            "long_calls": row["long"], "tie_strength": round(row["tie"], 3)}


def _calls_sentence(facts: dict | None) -> str | None:
    """Say how much two numbers talk, in one clause."""
    if not facts:
        return None
    return (f"{facts['out'] + facts['in']} calls ({facts['out']} out, {facts['in']} in), "
            f"{facts['talk_minutes']:g} min of talk on {facts['active_days']} days, "
            f"{facts['first']} to {facts['last']}")


def kin_sources(number: str, ctx: Context) -> list[tuple[str, float, str, dict]]:
    """Return (relationship, confidence, reason, saved entry) from every book that names a kinship."""
    found = []
    entry = ctx.own_book.get(number)
    if entry and entry[1].category == KIN:
        name, label = entry
        found.append((label.relationship, label.confidence, f"saved as {name} in the debtor's phone book",
                      {"book": "debtor", "name": name}))
    for name, label in ctx.saved_debtor_as(number) if number in ctx.books else []:
        relationship = inverse_relationship(label.relationship) if label.category == KIN else None
        if relationship:
            found.append((relationship, label.confidence * 0.95,
                          f"their own phone book saves the debtor as {name}", {"book": number, "name": name}))
    return found


def find_kin(ctx: Context, view: dict[str, dict]) -> list[dict]:
    """Return kin candidates: a kin name in the debtor's book, or the debtor saved as kin in theirs."""
    numbers = set(ctx.own_book) | set(ctx.books)
    candidates = []
    for number in sorted(numbers - ctx.own):
        sources = kin_sources(number, ctx)
        if not sources:
            continue
        relationship = max(sources, key=lambda s: s[1])[0]
        miss = 1.0
        for _rel, confidence, _reason, _saved in sources:
            miss *= 1 - confidence
        row = view.get(number)
        tie = row["tie"] if row else 0.0
        base = ctx.policy["kin_base"]
        cap = recency_cap(ctx.last_seen.get(number), ctx.now_ts, ctx.policy)
        score = min((1 - miss) * (base + (1 - base) * tie), cap)
        facts = call_facts(row, ctx)
        reasons = [s[2] for s in sources] + ([_calls_sentence(facts)] if facts else ["no calls in the records"])
        evidence = {"summary": "; ".join(reasons[:2]), "reasons": reasons, "calls": facts,
                    "saved_as": [s[3] for s in sources], "recency_cap": round(cap, 2)}
        candidates.append(make_candidate(number, "kin", relationship, score, evidence, cap))
    return candidates


def find_associates(ctx: Context, view: dict[str, dict], stats: dict) -> list[dict]:
    """Return close associates: strong, reciprocated call ties that are not kin."""
    policy, own_book = ctx.policy, ctx.own_book
    candidates, unsolicited = [], 0
    for number, row in view.items():
        entry = own_book.get(number)
        label = entry[1] if entry else None
        if label and label.category == KIN:
            continue
        mean = row["talk"] / row["n"] if row["n"] else 0
        if row["n_out"] == 0 and mean < policy["unsolicited_max_mean_s"] and not entry:
            unsolicited += 1  # they call, nobody calls back, briefly: a telemarketer
            continue
        category = label.category if label else PLAIN
        weight = policy["category_weight"].get(category, 1.0)
        cap = recency_cap(ctx.last_seen.get(number), ctx.now_ts, policy)
        score = min(row["tie"] * weight + (policy["saved_bonus"] if entry else 0.0), cap, 1.0)
        if score < policy["associate_min_score"]:
            continue
        facts = call_facts(row, ctx)
        reasons = ([f"saved as {entry[0]} in the debtor's phone book"] if entry and entry[0] else []) + [
            _calls_sentence(facts)]
        evidence = {"summary": "; ".join(reasons), "reasons": reasons, "calls": facts,
                    "saved_as": [{"book": "debtor", "name": entry[0]}] if entry else [],
                    "recency_cap": round(cap, 2)}
        relationship = None if category == PLAIN else category
        candidates.append(make_candidate(number, "associate", relationship, score, evidence, cap))
    stats["unsolicited_callers"] = unsolicited
    return candidates


def make_candidate(number: str, kind: str, relationship: str | None, score: float, evidence: dict,
               cap: float, flags: list[str] | None = None) -> dict:
    """Build one candidate dict."""
    # Stale: seen only long ago, so the number may now belong to someone else.
    flags = list(flags or []) + (["stale"] if cap <= STALE_FLAG_CAP else [])
    if cap <= STALE_FLAG_CAP:
        evidence["reasons"].append("not seen for months: the number may have been reassigned")
    return {"number_e164": number, "kind": kind, "relationship": relationship, "score": round(score, 4),
            "evidence": evidence, "flags": flags}
