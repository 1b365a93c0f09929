"""End-to-end engine tests on a hand-built family with decoys; pure Python, no database."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from backend.tracing.engine import run_trace

OLD, MOTHER, SISTER, WIFE = "13800000001", "13900000002", "13700000003", "13600000004"
COLLEAGUE, FRIEND, LENDER, TELEMARKETER = "13500000005", "13300000006", "15000000007", "17100000008"
NEW, SECOND_SIM, STALE = "18600000009", "18700000010", "18800000011"
START, SILENT, END = datetime(2025, 9, 1), datetime(2026, 3, 2, 21, 0), datetime(2026, 5, 30)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def e164(number: str) -> str:
    """Return the E.164 form of a scenario number."""
    return "+86" + number


class Records:
    """Accumulate call rows and phone-book rows for one scenario."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.calls: list[dict] = []
        self.contacts: list[dict] = []

    def call(self, owner: str, number: str, when: datetime, seconds: int, out: bool) -> None:
        """Add one call; the owner column stays empty for the debtor's own phone."""
        self.calls.append({"owner_number": "" if owner == OLD else owner, "number": number,
                           "direction": "out" if out else "in", "started_at": when.strftime("%Y-%m-%d %H:%M:%S"),
                           "duration_s": str(seconds)})

    def talk(self, owner: str, number: str, start: datetime, end: datetime, every_days: float,
             hours: tuple[int, int], seconds: tuple[int, int], out_share: float = 0.5,
             weekdays_only: bool = False) -> None:
        """Add calls at random times between start and end, about one per `every_days`."""
        day = start
        while day < end:
            day += timedelta(days=self.rng.expovariate(1 / every_days))
            if day >= end or (weekdays_only and day.weekday() >= 5):
                continue
            when = day.replace(hour=self.rng.randint(*hours), minute=self.rng.randint(0, 59))
            self.call(owner, number, when, self.rng.randint(*seconds), self.rng.random() < out_share)

    def save(self, owner: str, name: str, number: str) -> None:
        """Add one phone-book entry."""
        self.contacts.append({"owner_number": "" if owner == OLD else owner, "name": name, "number": number})


def family() -> Records:
    """Build the scenario: old number silent since SILENT, a new number talking to mother and sister."""
    r = Records()
    r.talk(OLD, MOTHER, START, SILENT, 2, (19, 21), (120, 900))
    r.talk(OLD, SISTER, START, SILENT, 3, (12, 22), (200, 1200))
    r.talk(OLD, WIFE, START, SILENT, 1, (19, 22), (300, 1500))
    r.talk(OLD, FRIEND, START, SILENT, 6, (12, 23), (60, 400))
    r.talk(OLD, COLLEAGUE, START, SILENT, 2, (9, 17), (30, 300), weekdays_only=True)
    r.talk(OLD, LENDER, START, SILENT, 10, (10, 18), (20, 90))
    r.talk(OLD, TELEMARKETER, START, SILENT, 7, (10, 18), (5, 25), out_share=0.0)
    r.talk(OLD, "95588", START, SILENT, 20, (10, 18), (60, 200))
    r.talk(MOTHER, OLD, START, SILENT, 2, (19, 21), (120, 900))       # the same calls seen from her phone
    r.talk(MOTHER, SISTER, START, END, 3, (18, 21), (100, 900))       # the sister before and after the switch
    r.talk(MOTHER, COLLEAGUE, SILENT, END, 20, (10, 16), (30, 120))   # the colleague asking after the debtor
    r.talk(MOTHER, TELEMARKETER, START, END, 7, (10, 18), (5, 25), out_share=0.0)
    r.talk(MOTHER, "10086", START, END, 30, (10, 18), (30, 60))
    r.talk(MOTHER, NEW, SILENT + timedelta(days=2), END, 2, (19, 21), (120, 900))
    r.call(OLD, NEW, SILENT - timedelta(hours=2), 8, True)            # trying the new SIM
    r.call(OLD, NEW, SILENT - timedelta(hours=1), 12, False)
    for name, number in (("妈妈", MOTHER), ("姐姐", SISTER), ("老婆", WIFE), ("王经理", COLLEAGUE),
                         ("张哥", FRIEND), ("拍拍贷", LENDER), ("招商银行", "95588"), ("顺丰快递", "95338")):
        r.save(OLD, name, number)
    for name, number in (("儿子", OLD), ("女儿", SISTER), ("小王同事", COLLEAGUE)):
        r.save(MOTHER, name, number)
    return r


def to_csv(rows: list[dict]) -> bytes:
    """Write rows as CSV bytes."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def trace(records: Records, **kwargs):
    """Run the engine on a scenario as CSV uploads."""
    kwargs.setdefault("debtor_numbers", [OLD])
    kwargs.setdefault("debtor_name", "张小明")
    return run_trace(to_csv(records.contacts), to_csv(records.calls), now=NOW, **kwargs)


def by_number(result) -> dict[str, dict]:
    """Index candidates by their national number."""
    return {c["number_e164"].removeprefix("+86"): c for c in result.candidates}


@pytest.fixture(scope="module")
def result():
    """Trace the family scenario once for the module."""
    return trace(family())


def test_new_number_found_first_with_readable_evidence(result):
    new = [c for c in result.candidates if c["kind"] == "new_number"]
    assert [c["number_e164"] for c in new] == [e164(NEW)]
    assert new[0]["score"] >= 0.6 and "second_sim" not in new[0]["flags"]
    assert "妈妈's number after 2026-03-02, when the old number went silent" in " ".join(new[0]["evidence"]["reasons"])
    assert new[0]["evidence"]["old_number_last_active"] == "2026-03-02"


def test_kin_with_relationships(result):
    found = by_number(result)
    assert {n: found[n]["relationship"] for n in (MOTHER, SISTER, WIFE)} == {
        MOTHER: "parent", SISTER: "sibling", WIFE: "spouse"}
    assert all(found[n]["kind"] == "kin" for n in (MOTHER, SISTER, WIFE))
    assert found[WIFE]["score"] > 0.8


def test_associates_and_decoys(result):
    found = by_number(result)
    assert found[FRIEND]["kind"] == "associate" and found[FRIEND]["relationship"] == "close"
    assert found[COLLEAGUE]["kind"] == "associate" and found[COLLEAGUE]["relationship"] == "work"
    assert TELEMARKETER not in found
    assert LENDER not in found and result.stats["lenders"]["numbers"] == 1
    assert not {SISTER, COLLEAGUE} & {n for n, c in found.items() if c["kind"] == "new_number"}
    assert sum(result.stats["new_number_ruled_out"].values()) >= 3  # sister, colleague, telemarketer


def test_service_numbers_set_aside(result):
    aside = result.stats["set_aside"]
    assert aside["service"]["numbers"] == 3 and aside["service"]["rows"] > 10
    assert "+8695588" in aside["service"]["samples"]
    assert not any(c["number_e164"] in ("+8695588", "+8610086") for c in result.candidates)


def test_scores_in_unit_interval_and_ranked(result):
    scores = [c["score"] for c in result.candidates]
    assert all(0.0 <= s <= 1.0 for s in scores)
    kinds = [c["kind"] for c in result.candidates]
    assert kinds == sorted(kinds, key=["new_number", "kin", "associate"].index)


def test_bad_rows_counted_never_fatal():
    records = family()
    good = len(records.calls)
    for number, direction, started, seconds in (("abc", "out", "2026-01-01 10:00:00", "5"),
                                                (MOTHER, "sideways", "2026-01-01 10:00:00", "5"),
                                                (MOTHER, "out", "yesterday", "5"),
                                                (MOTHER, "out", "2026-01-01 10:00:00", "-5")):
        records.calls.append({"owner_number": "", "number": number, "direction": direction,
                              "started_at": started, "duration_s": seconds})
    stats = trace(records).stats["calls"]
    assert stats["bad"] == {"unparseable_number": 1, "unknown_direction": 1, "bad_timestamp": 1,
                            "negative_duration": 1}
    assert stats["rows"] == good + 4 and stats["accepted"] == good
    assert {(s["field"], s["value"]) for s in stats["samples"]} >= {("number", "abc"), ("duration_s", "-5")}


def test_excluded_numbers_not_proposed_again():
    result = trace(family(), excluded_numbers=frozenset({"+86 186 0000 0009", e164(FRIEND)}))
    found = by_number(result)
    assert NEW not in found and FRIEND not in found
    assert result.stats["excluded"] == 2


def test_second_sim_labelled():
    records = family()
    records.talk(MOTHER, SECOND_SIM, START, END, 4, (19, 21), (120, 600))
    records.call(OLD, SECOND_SIM, START + timedelta(days=30), 5, True)
    sim = by_number(trace(records))[SECOND_SIM]
    assert sim["kind"] == "new_number" and "second_sim" in sim["flags"]


def test_saved_as_debtor_long_ago_is_capped():
    records = family()
    records.save(MOTHER, "小明新号", STALE)
    records.call(MOTHER, STALE, datetime(2024, 1, 5, 20, 0), 300, True)
    stale = by_number(trace(records))[STALE]
    assert stale["kind"] == "new_number" and "stale" in stale["flags"]
    assert stale["score"] <= 0.3


def test_mother_book_makes_her_parent_without_debtor_book():
    records = family()
    records.contacts = [c for c in records.contacts if c["owner_number"]]  # only the mother's book
    mother = by_number(trace(records))[MOTHER]
    assert mother["kind"] == "kin" and mother["relationship"] == "parent"
    assert "saves the debtor as 儿子" in mother["evidence"]["summary"]


def test_json_upload_matches_csv(result):
    records = family()
    as_json = run_trace(json.dumps(records.contacts).encode(),
                        "\n".join(json.dumps(c) for c in records.calls).encode(),
                        debtor_numbers=[OLD], debtor_name="张小明", now=NOW)
    assert as_json.candidates == result.candidates


def test_columnar_reader_matches_streaming(result):
    columnar = trace(family(), limits={"columnar_min_bytes": 0})
    assert columnar.stats["calls"]["reader"] == "columnar"
    assert columnar.candidates == result.candidates


def test_progress_reported_and_ends_at_one():
    seen: list[float] = []
    trace(family(), progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("started", ["x", "2026年1月5日 8:00", " 2026-01-05 10:00:00 ", "2026-1-5 9:05", "1767600000"])
def test_columnar_reader_parses_odd_timestamps_like_streaming(started):
    calls = (f"number,direction,started_at,duration_s\n{MOTHER},out,{started},60\n{SISTER},in,{started},x\n"
             f"abc,in,{started},5\n{WIFE},sideways,1767600000,-1\n").encode()
    readers = [run_trace(None, calls, debtor_numbers=[OLD], now=NOW, limits=limits).stats["calls"]
               for limits in ({"columnar": False}, {"columnar_min_bytes": 0})]
    assert [r.pop("reader") for r in readers] == ["stream", "columnar"]
    assert readers[0] == readers[1]


CUED = "18900000012"


@pytest.mark.parametrize("name", ["小明新号", "小明新手机", "小明 另一个号", "小明备用", "小明2", "Ming new"])
def test_saved_name_cue_lifts_a_number_to_new_number(name):
    """Mother saves a number as 'Xiaoming's new number'; the debtor is 李伟 to the creditor (a nickname)."""
    records = family()
    records.save(MOTHER, name, CUED)
    records.talk(MOTHER, CUED, SILENT + timedelta(days=3), END, 5, (19, 21), (60, 300))
    cued = by_number(trace(records, debtor_name="李伟"))[CUED]
    assert cued["kind"] == "new_number"
    assert "marks a new or second number" in cued["evidence"]["summary"]
    assert "saved_as_debtor" in cued["evidence"]["strengths"]


def test_same_number_without_the_cue_is_not_a_new_number():
    records = family()
    records.save(MOTHER, "小明", CUED)  # just someone called 小明 the mother talks to
    records.talk(MOTHER, CUED, SILENT + timedelta(days=3), END, 5, (19, 21), (60, 300))
    cued = by_number(trace(records, debtor_name="李伟")).get(CUED)
    assert cued is None or cued["kind"] != "new_number"


def test_bare_new_after_the_name_the_book_gives_the_old_number():
    records = family()
    records.contacts = [c for c in records.contacts if not (c["owner_number"] == MOTHER and c["number"] == OLD)]
    records.save(MOTHER, "小明", OLD)
    records.save(MOTHER, "小明新", CUED)
    records.talk(MOTHER, CUED, SILENT + timedelta(days=3), END, 5, (19, 21), (60, 300))
    cued = by_number(trace(records, debtor_name="李伟"))[CUED]
    assert cued["kind"] == "new_number" and "same_name_as_old" in cued["evidence"]["strengths"]


def test_set_aside_counted_alike_in_python_and_polars(monkeypatch, result):
    from backend.tracing.engine import trace as engine

    records = family()
    records.save(MOTHER, "客服", "12345")  # a short (service) number in a third party's book
    records.save(MOTHER, "儿子", OLD)      # the debtor's own number in a book
    records.call(MOTHER, "0000", START, 5, True)  # an invalid number in the calls
    counted = {}
    for limit in (0, 10**9):  # polars, then the Python loop
        monkeypatch.setattr(engine, "SET_ASIDE_PYTHON_MAX", limit)
        counted[limit] = trace(records).stats["set_aside"]
    assert counted[0] == counted[10**9]
    assert [counted[0][name]["numbers"] for name in ("service", "invalid", "own")] == [4, 1, 1]


def test_undirected_edges_alike_in_python_and_polars(monkeypatch):
    import polars as pl

    from backend.tracing.engine import scoring

    # Both sides of one pair (the fuller wins), a tie in calls (the first seen wins), a pair seen once.
    features = pl.DataFrame({"a": ["+861", "+862", "+863", "+864", "+865", "+866"],
                             "b": ["+862", "+861", "+864", "+863", "+866", "+867"],
                             "n": [3, 5, 2, 2, 7, 1], "tie": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    kept = {}
    for limit in (0, 10**9):  # polars, then Python
        monkeypatch.setattr(scoring, "UNDIRECTED_PYTHON_MAX", limit)
        kept[limit] = scoring.undirected_edges(features)
    assert kept[0].equals(kept[10**9])
    assert kept[0]["tie"].to_list() == [0.5, 0.2, 0.3, 0.6]


def test_timelines_alike_in_python_and_polars(monkeypatch):
    from backend.tracing.engine import newnumber

    seen = {}
    real = newnumber.timelines

    def keep(ctx, numbers, since, grace_start):
        found = real(ctx, numbers, since, grace_start)
        seen.setdefault(newnumber.TIMELINES_PYTHON_MAX, []).append(found)
        return found

    monkeypatch.setattr(newnumber, "timelines", keep)
    records = family()  # with a second SIM: active on days before the old number went silent
    records.talk(MOTHER, SECOND_SIM, START, END, 4, (19, 21), (120, 600))
    records.call(OLD, SECOND_SIM, START + timedelta(days=30), 5, True)
    traced = {}
    for limit in (0, 10**9):  # polars, then the Python loop
        monkeypatch.setattr(newnumber, "TIMELINES_PYTHON_MAX", limit)
        result = trace(records)
        traced[limit] = (result.candidates, {k: v for k, v in result.stats.items() if k != "seconds"})
    assert seen[0] == seen[10**9] and traced[0] == traced[10**9]
    lines = seen[0][0]
    assert any(line["days_before"] for line in lines.values()) and any(line["after"] for line in lines.values())


def test_debtor_counterparts_alike_in_python_and_polars(monkeypatch, result):
    from backend.tracing.engine import people

    monkeypatch.setattr(people, "VIEW_PYTHON_MAX", 0)  # the polars query, where the module fixture took Python
    polars = trace(family())
    assert polars.candidates == result.candidates and polars.stats["unsolicited_callers"] > 0
    assert {k: v for k, v in polars.stats.items() if k != "seconds"} == {
        k: v for k, v in result.stats.items() if k != "seconds"}
