"""Real-data check of the associate ranking: precision@3 against Facebook friendships (Copenhagen study).

Run: .venv/bin/python bench/copenhagen.py [--data /work/shared/data/copenhagen] [--min-partners 5]
Each user's calls become that user's call record (ids mapped to +86138 + id, timestamps from a start date);
the engine's associates are ranked by score, the baseline by call count; both are scored by how many of the
top 3 are Facebook friends, over users with at least `--min-partners` call partners.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.tracing.engine import run_trace  # noqa: E402

STUDY_START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = STUDY_START + timedelta(days=30)
# Rank every partner, not just those above the associate threshold, so both rankings see the same people.
POLICY = {"associate_min_score": 0.0, "max_candidates": {"associate": 10_000}, "unsolicited_max_mean_s": 0}


def phone(user: str) -> str:
    """Map a study id to a synthetic Chinese mobile number."""
    return f"+86138{int(user):08d}"


def load(data: Path) -> tuple[dict[str, list[tuple]], set[frozenset]]:
    """Return each user's calls as (ts, other, out, duration) and the friendship pairs."""
    calls: dict[str, list[tuple]] = defaultdict(list)
    with open(data / "calls.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            ts, a, b, duration = int(row["timestamp"]), row["from"], row["to"], max(int(row["duration"]), 0)
            if a != b:
                calls[a].append((ts, b, True, duration))  # -1 marks a missed call: it still happened, 0 s
                calls[b].append((ts, a, False, duration))
    with open(data / "fb_friends.csv", newline="") as handle:
        friends = {frozenset((row["user_a"], row["user_b"])) for row in csv.DictReader(handle)}
    return calls, friends


def record_csv(rows: list[tuple]) -> bytes:
    """Write one user's calls as an upload."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "direction", "started_at", "duration_s"])
    for ts, other, outgoing, duration in rows:
        moment = STUDY_START + timedelta(seconds=ts)
        writer.writerow([phone(other), "out" if outgoing else "in", moment.isoformat(), duration])
    return out.getvalue().encode()


def count_top(rows: list[tuple]) -> list[str]:
    """Rank partners by number of calls, ties broken by id: the count-only baseline."""
    counts = Counter(other for _ts, other, _out, _dur in rows)
    return [user for user, _n in sorted(counts.items(), key=lambda item: (-item[1], int(item[0])))]


def engine_top(user: str, rows: list[tuple]) -> list[str]:
    """Rank partners by the engine's associate score."""
    result = run_trace(None, record_csv(rows), debtor_numbers=[phone(user)], now=NOW, policy=POLICY)
    ranked = [c for c in result.candidates if c["kind"] == "associate"]
    return [str(int(c["number_e164"][6:])) for c in ranked]


def precision_at(ranked: list[str], user: str, friends: set[frozenset], k: int = 3) -> tuple[int, int]:
    """Return (friends in the top k, slots filled)."""
    top = ranked[:k]
    return sum(frozenset((user, other)) in friends for other in top), len(top)


def main() -> None:
    """Compute and print precision@3 for both rankings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/copenhagen"))
    parser.add_argument("--min-partners", type=int, default=5)
    args = parser.parse_args()
    calls, friends = load(args.data)
    users = sorted((u for u, rows in calls.items() if len({r[1] for r in rows}) >= args.min_partners), key=int)
    totals = {"engine": [0, 0], "count": [0, 0]}
    partners = partner_friends = 0
    started = time.perf_counter()
    for user in users:
        for name, ranked in (("engine", engine_top(user, calls[user])), ("count", count_top(calls[user]))):
            hit, slots = precision_at(ranked, user, friends)
            totals[name][0] += hit
            totals[name][1] += slots
        others = {r[1] for r in calls[user]}
        partners += len(others)
        partner_friends += sum(frozenset((user, o)) in friends for o in others)
    elapsed = time.perf_counter() - started
    print(f"users with >= {args.min_partners} call partners: {len(users)}; "
          f"partners who are friends: {partner_friends / partners:.1%}")
    for name, label in (("engine", "engine associate ranking"), ("count", "count-only ranking")):
        hit, slots = totals[name]
        print(f"{label}: precision@3 = {hit / slots:.1%} ({hit}/{slots} top-3 slots are Facebook friends)")
    print(f"engine runs: {len(users)} in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
