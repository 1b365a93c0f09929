"""New-number detection: a number that talks to the debtor's close circle after the old one went silent."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from .context import Context
from .kinship import KIN, PLAIN, core_name, inverse_relationship
from .people import make_candidate
from .scoring import DAY, noisy_or, recency_cap


@dataclass
class Graph:
    """Undirected call ties between every pair of numbers seen in any uploaded record."""

    edges: dict[str, dict[str, dict]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> Graph:
        """Index an undirected edge frame (a, b, tie, n, n_in, n_out, talk, short) both ways."""
        graph, names = cls(), ("a", "b", "tie", "n", "n_in", "n_out", "talk", "short")
        edges = graph.edges
        # Column by column, then zipped into dict displays: cheaper than polars (or dict(zip())) per row.
        for a, b, tie, n, n_in, n_out, talk, short in zip(*(frame.get_column(name).to_list() for name in names),
                                                          strict=True):
            row = {"a": a, "b": b, "tie": tie, "n": n, "n_in": n_in, "n_out": n_out, "talk": talk, "short": short}
            edges.setdefault(a, {})[b] = row
            edges.setdefault(b, {})[a] = row
        return graph

    def tie(self, a: str, b: str) -> float:
        """Return the tie strength between two numbers, 0 when they never talk."""
        return self.edges.get(a, {}).get(b, {}).get("tie", 0.0)

    def degree(self, number: str) -> int:
        """Return how many distinct numbers one number talks to."""
        return len(self.edges.get(number, {}))


def last_activity(ctx: Context) -> int | None:
    """Return when the debtor's known numbers were last seen in any record: when they went silent."""
    own = ctx.own
    return max((last for a, b, _first, last, _n in ctx.pair_rows if a in own or b in own), default=None)


def spans(ctx: Context, pool: set[str]) -> dict[str, dict]:
    """Return when each number was first and last seen in any record, from the per-pair features."""
    # days_before and after are filled in by timelines() for the numbers that are not ruled out first.
    found: dict[str, dict] = {}
    for a, b, first, last, _n in ctx.pair_rows:
        for n in (a, b):
            if n not in pool:
                continue
            line = found.get(n)
            if line is None:
                found[n] = {"n": n, "first": first, "last": last, "days_before": 0, "after": {}}
            else:
                line["first"], line["last"] = min(line["first"], first), max(line["last"], last)
    return found


# Up to this many calls (an everyday trace has ~3,000), timelines() counts in Python: its polars query's
# fixed costs were more than the loop (tests check that the two agree).
TIMELINES_PYTHON_MAX = 20_000


def timelines(ctx: Context, numbers: set[str], since: int | None, grace_start: int | None) -> dict[str, dict]:
    """Return active days before the silence and calls per contact after it, per number."""
    if not numbers:
        return {}
    ids = [ctx.ids[n] for n in numbers if n in ctx.ids]
    number = list(ctx.ids)  # id → E.164
    if ctx.calls.height <= TIMELINES_PYTHON_MAX:
        return _timelines_rows(ctx.calls, set(ids), number, since, grace_start)
    calls = ctx.calls.lazy().filter(pl.col("oid").is_in(ids) | pl.col("nid").is_in(ids))
    ends = pl.concat([calls.select(n="nid", x="oid", ts="ts", day="day"),
                      calls.select(n="oid", x="nid", ts="ts", day="day")]).filter(pl.col("n").is_in(ids)).collect()
    before = pl.col("ts") < (grace_start if grace_start is not None else 0)
    summary = ends.group_by("n").agg(days_before=pl.col("day").filter(before).n_unique())
    found = {number[n]: {"days_before": days, "after": {}} for n, days in summary.iter_rows()}
    if since is not None:
        after = ends.filter(pl.col("ts") > since).group_by("n", "x").len()
        for n, x, count in after.iter_rows():
            found[number[n]]["after"][number[x]] = count
    return found


def _timelines_rows(calls: pl.DataFrame, ids: set[int], number: list[str], since: int | None,
                    grace_start: int | None) -> dict[str, dict]:
    """timelines() for a call frame small enough to loop over."""
    cutoff = grace_start if grace_start is not None else 0
    days: dict[int, set] = {}
    after: dict[int, dict[int, int]] = {}
    for oid, nid, ts, day in zip(*(calls.get_column(name).to_list() for name in ("oid", "nid", "ts", "day")),
                                 strict=True):
        for n, x in ((nid, oid), (oid, nid)):
            if n not in ids:
                continue
            seen = days.get(n)
            if seen is None:
                seen = days[n] = set()
            if ts < cutoff:
                seen.add(day)
            if since is not None and ts > since:
                counts = after.setdefault(n, {})
                counts[x] = counts.get(x, 0) + 1
    return {number[n]: {"days_before": len(seen),
                        "after": {number[x]: count for x, count in after.get(n, {}).items()}}
            for n, seen in days.items()}


class NewNumberFinder:
    """Score each number that might be the debtor's new (or second) number."""

    def __init__(self, ctx: Context, graph: Graph):
        self.ctx, self.graph, self.policy = ctx, graph, ctx.policy
        self.silent_since = last_activity(ctx)
        grace = self.policy["silence_grace_days"] * DAY
        self.grace_start = None if self.silent_since is None else self.silent_since - grace
        self.circle = [x for x in ctx.third_parties if x not in ctx.lenders]
        self.old_weight = {x: self._old_weight(x) for x in self.circle}
        self.hub = {x: 1 / math.log(math.e + graph.degree(x)) for x in self.circle}  # Adamic-Adar
        self.denominator = sum(self.old_weight[x] * self.hub[x] for x in self.circle)
        self.ruled_out: dict[str, int] = {}
        self._old_names: dict[str, set[str]] = {}
        self._as_debtor_of: dict[str, str | None] = {}
        self.labels = {x: ctx.display(x) for x in self.circle}  # shown for every number the circle talks to
        # number → (owner, entry) in the books' order: book_evidence() runs for every number in the pool,
        # most of which no book saves.
        self.saved_in: dict[str, list] = {}
        for owner, book in ctx.books.items():
            for number, entry in book.items():
                self.saved_in.setdefault(number, []).append((owner, entry))
        # The same for the calls: number → (circle member, edge) in circle order, and number → calls with the
        # old number(s), indexed once instead of looking every member and old number up for every number.
        self.circle_edges: dict[str, list[tuple[str, dict]]] = {}
        for x in self.circle:
            for number, edge in graph.edges.get(x, {}).items():
                self.circle_edges.setdefault(number, []).append((x, edge))
        self.old_calls: dict[str, dict] = {}
        for o in ctx.own:
            for number, row in graph.edges.get(o, {}).items():
                calls = self.old_calls.setdefault(number, {"n": 0, "talk": 0, "short": 0})
                calls["n"], calls["talk"], calls["short"] = (calls["n"] + row["n"], calls["talk"] + row["talk"],
                                                             calls["short"] + row["short"])

    def _old_weight(self, x: str) -> float:
        """Return how close a circle member is to the old number(s)."""
        tie = max((self.graph.tie(o, x) for o in self.ctx.own), default=0.0)
        return tie or (0.2 if self.ctx.saved_debtor_as(x) else 0.0)

    def pool(self) -> set[str]:
        """Return numbers worth scoring: the circle's contacts, third-party books, late or self-saved numbers."""
        ctx, pool = self.ctx, set()
        for x in self.circle:
            pool |= set(self.graph.edges.get(x, {})) | set(ctx.books.get(x, {}))
        for o in ctx.own:
            pool |= set(self.graph.edges.get(o, {}))
        for book in ctx.books.values():
            pool |= {n for n, (_name, label) in book.items() if label.new_marker or label.debtor_match}
        return pool - ctx.own - ctx.excluded - set(ctx.lenders) - set(self.circle)

    def find(self) -> list[dict]:
        """Return scored new-number candidates above the policy minimum."""
        pool = self.pool()
        lines = spans(self.ctx, pool)
        kept = [(number, evidence) for number in sorted(pool)
                if (evidence := self.screen(number, lines.get(number))) is not None]
        for number, detail in timelines(self.ctx, {n for n, _ in kept}, self.silent_since, self.grace_start).items():
            lines[number].update(detail)
        found = []
        for number, evidence in kept:
            candidate = self.score(number, lines.get(number), evidence)
            if candidate is not None:
                found.append(candidate)
        return found

    def _rule_out(self, reason: str) -> None:
        """Count why a number was ruled out, for the stats."""
        self.ruled_out[reason] = self.ruled_out.get(reason, 0) + 1

    def book_evidence(self, number: str) -> tuple[dict[str, float], list[str], list[dict], bool]:
        """Read the phone books: saved as the debtor, under the old number's name, or as someone else."""
        ctx, strengths, reasons, saved, other_person = self.ctx, {}, [], [], False
        w = self.policy["new_number_weights"]
        for owner, (name, label) in self.saved_in.get(number, ()):
            mine = owner in ctx.own
            saved.append({"book": "debtor" if mine else owner, "name": name})
            as_debtor = self._as_debtor(owner)
            if label.debtor_match or (label.new_marker and (label.category == PLAIN
                                                             or not mine and label.relationship == as_debtor)):
                strengths["saved_as_debtor"] = w["saved_as_debtor"]
                marked = f" ({label.cue}: the name marks a new or second number)" if label.cue else ""
                reasons.append(f"saved as {name} in {self._book_words(owner)}{marked}")
            elif not mine and core_name(name) in self.old_names(owner):
                strengths["same_name_as_old"] = w["same_name_as_old"]
                reasons.append(f"saved in {self._book_words(owner)} under the same name ({name}) as the old number")
            elif not mine and label.category == KIN and label.relationship == as_debtor and not self.old_names(owner):
                strengths["kin_name"] = w["kin_name"]
                reasons.append(f"saved as {name} in {self._book_words(owner)}, what the debtor is to them")
            else:
                other_person = True
        return strengths, reasons, saved, other_person

    def _as_debtor(self, owner: str) -> str | None:
        """What the debtor is to a book's owner (this runs for every saved entry of every number in the pool)."""
        if owner not in self._as_debtor_of:
            self._as_debtor_of[owner] = inverse_relationship(self.ctx.owner_relationship.get(owner))
        return self._as_debtor_of[owner]

    def _book_words(self, owner: str) -> str:
        return "the debtor's phone book" if owner in self.ctx.own else f"{self.ctx.display(owner)}'s phone book"

    def old_names(self, owner: str) -> set[str]:
        """Return the names an owner's book saves the debtor's old number(s) under, new-number marks removed."""
        if owner not in self._old_names:
            self._old_names[owner] = {core_name(n) for n, _label in self.ctx.saved_debtor_as(owner)} - {""}
        return self._old_names[owner]

    def direct(self, number: str) -> dict:
        """Return the calls between the number and the debtor's old number(s)."""
        return dict(self.old_calls.get(number) or {"n": 0, "talk": 0, "short": 0})

    def circle_evidence(self, number: str) -> tuple[float, bool, list[tuple[str, dict]]]:
        """Return the weighted overlap with the old number's circle, whether any tie is two-way, and who
        (member, edge); shared_contacts() words it for the numbers that are kept."""
        shared, overlap, two_way = self.circle_edges.get(number, []), 0.0, False
        for x, edge in shared:
            two_way |= edge["n_in"] > 0 and edge["n_out"] > 0
            overlap += min(self.old_weight[x], edge["tie"]) * self.hub[x]
        return (overlap / self.denominator if self.denominator else 0.0), two_way, shared

    def shared_contacts(self, shared: list[tuple[str, dict]]) -> list[dict]:
        """Return the circle members a number talks to, as the evidence lists them (calls after the
        silence are filled in by score(), once timelines() has counted them)."""
        return [{"number": x, "label": self.labels[x], "calls": edge["n"], "calls_after_silence": 0}
                for x, edge in shared]

    def timing(self, line: dict | None) -> tuple[float, bool]:
        """Return how well first appearance fits a switch, and whether it ran alongside the old number."""
        if not line or self.silent_since is None:
            return 0.0, False
        if line["first"] >= self.silent_since:
            return 1.0, False
        if line["first"] >= self.grace_start:
            return 0.7, False
        alongside = line["days_before"] >= self.policy["second_sim_min_days"]
        return (0.5, True) if alongside else (0.2, False)

    def screen(self, number: str, line: dict | None) -> tuple | None:
        """Return the evidence for one number, or None when the records say it is someone else."""
        policy = self.policy
        strengths, reasons, saved, other_person = self.book_evidence(number)
        if other_person and not strengths:
            return self._rule_out("saved_as_someone_else")
        direct = self.direct(number)
        if direct["n"] > policy["talks_with_old_max_calls"] or direct["talk"] > policy["talks_with_old_max_s"]:
            return self._rule_out("talks_with_old_number")
        overlap, two_way, shared = self.circle_evidence(number)
        if not (strengths or two_way or direct["n"]):
            return self._rule_out("never_answered")
        # Active days before the silence are not known yet; they cannot lift timing to 0.7, so the test holds.
        if self.timing(line)[0] < 0.7 and not strengths and not direct["n"] and len(shared) < 2:
            # Around before the switch and tied to one relative only: more likely that relative's own contact.
            return self._rule_out("one_contact_in_common")
        return strengths, reasons, saved, direct, overlap, shared

    def score(self, number: str, line: dict | None, evidence: tuple) -> dict | None:
        """Score one number that screen() kept; None below the policy minimum (no evidence worded for it)."""
        policy, w = self.policy, self.policy["new_number_weights"]
        strengths, reasons, saved, direct, overlap, shared = evidence
        timing, second_sim = self.timing(line)
        strengths["overlap"] = w["overlap"] * overlap
        strengths["short_calls"] = w["short_calls"] * direct["short"] / (direct["short"] + 2)
        if overlap or saved or direct["short"]:
            strengths["timing"] = w["timing"] * timing
        cap = recency_cap(line["last"] if line else None, self.ctx.now_ts, policy)
        score = min(noisy_or(strengths), cap)
        if round(score, 4) < policy["new_number_min_score"]:  # as make_candidate rounds it
            return None
        shared = self.shared_contacts(shared)
        for member in shared:
            member["calls_after_silence"] = line["after"].get(member["number"], 0) if line else 0
        reasons += self._timing_reasons(line, shared, second_sim, direct)
        return make_candidate(number, "new_number", None, score, {
            "summary": reasons[0] if reasons else "talks to the debtor's circle",
            "reasons": reasons, "old_number_last_active": self.ctx.date(self.silent_since),
            "first_seen": self.ctx.date(line["first"]) if line else None,
            "last_seen": self.ctx.date(line["last"]) if line else None,
            "circle_overlap": round(overlap, 3), "shared_contacts": shared, "short_calls_with_old": direct["short"],
            "saved_as": saved, "strengths": {k: round(v, 3) for k, v in strengths.items()},
            "recency_cap": round(cap, 2)}, cap, ["second_sim"] if second_sim else [])

    def _timing_reasons(self, line: dict | None, shared: list[dict], second_sim: bool, direct: dict) -> list[str]:
        """Say in words when the number appeared and whom it talks to."""
        ctx, reasons, since = self.ctx, [], self.ctx.date(self.silent_since)
        for member in sorted(shared, key=lambda m: -m["calls_after_silence"]):
            if member["calls_after_silence"]:
                reasons.append(f"{member['calls_after_silence']} calls with {member['label']}'s number after "
                               f"{since}, when the old number went silent")
        if shared:
            names = ", ".join(m["label"] for m in shared)
            reasons.append(f"talks to {len(shared)} of the {len(self.circle)} people around the old number "
                           f"whose records were uploaded ({names})")
        if second_sim and line:
            reasons.append(f"active on {line['days_before']} days alongside the old number: a second SIM")
        elif line and since:
            reasons.append(f"first seen {ctx.date(line['first'])}; the old number was last active {since}")
        if direct["short"]:
            reasons.append(f"{direct['short']} short calls with the old number")
        return reasons
