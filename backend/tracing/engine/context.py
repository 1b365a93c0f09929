"""What the scorers share: debtor numbers, phone books with labels, classified calls and policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import polars as pl

from .kinship import KIN, LENDER, NameLabel, classify_name, inverse_relationship
from .phones import PERSON_KINDS

Book = dict[str, tuple[str, NameLabel]]  # number → (name as saved, label)


@dataclass
class Context:
    """Inputs of one trace after parsing and classification."""

    own: frozenset[str]                       # the debtor's known numbers, E.164
    debtor_name: str | None
    policy: dict
    now_ts: int
    tz: ZoneInfo
    calls: pl.DataFrame                       # calls between people: oid, nid, out, ts, dur, local day/hour/weekday
    pairs: pl.DataFrame                       # features and tie per (record owner a, counterpart b)
    books: dict[str, Book]                    # owner → book
    excluded: frozenset[str]
    ids: dict[str, int] = field(default_factory=dict)          # number → its oid/nid in calls, in id order
    lenders: dict[str, str] = field(default_factory=dict)      # number → name that marks it a lender
    owner_relationship: dict[str, str] = field(default_factory=dict)
    _dates: dict[int, str] = field(default_factory=dict, repr=False)  # moment → local ISO date

    @cached_property
    def own_book(self) -> Book:
        """Return the debtor's own phone books merged."""
        merged: Book = {}
        for owner in self.own:
            for number, entry in self.books.get(owner, {}).items():
                merged.setdefault(number, entry)
        return merged

    @cached_property
    def pair_rows(self) -> list[tuple[str, str, int, int, int]]:
        """Return (a, b, first, last, n) per pair: a few thousand rows at most, quicker to scan in Python."""
        return list(self.pairs.select("a", "b", "first", "last", "n").iter_rows())

    @cached_property
    def third_parties(self) -> list[str]:
        """Return the owners of uploaded records and books that are not the debtor's phones."""
        owners = set(self.books) | {a for a, *_rest in self.pair_rows}
        return sorted(owners - self.own)

    @cached_property
    def last_seen(self) -> dict[str, int]:
        """Return when each number was last active in any record, its own uploaded record included."""
        found: dict[str, int] = {}
        for a, b, _first, last, _n in self.pair_rows:
            found[a] = max(last, found.get(a, last))
            found[b] = max(last, found.get(b, last))
        return found

    def saved_debtor_as(self, owner: str) -> list[tuple[str, NameLabel]]:
        """Return how a third party's book saves the debtor's numbers."""
        book = self.books.get(owner, {})
        return [book[number] for number in sorted(self.own) if number in book]

    def display(self, number: str) -> str:
        """Return a readable handle for a number: its saved name, else its relationship, else itself."""
        entry = self.own_book.get(number)
        if entry and entry[0]:
            return entry[0]
        relationship = self.owner_relationship.get(number)
        return f"the debtor's {relationship} ({number})" if relationship else number

    def date(self, ts: int | None) -> str | None:
        """Return a local ISO date; each moment is converted once (the evidence repeats a few hundred)."""
        if ts is None:
            return None
        found = self._dates.get(ts)
        if found is None:
            found = self._dates[ts] = datetime.fromtimestamp(ts, self.tz).date().isoformat()
        return found


def build_books(contacts: pl.DataFrame, debtor_name: str | None) -> dict[str, Book]:
    """Index phone books by owner with a label per saved name; the first entry of a number wins."""
    books: dict[str, Book] = {}
    labels: dict[str, NameLabel] = {}
    for owner, name, number, kind in contacts.iter_rows():
        if kind not in PERSON_KINDS:
            continue
        label = labels.get(name) or labels.setdefault(name, classify_name(name, debtor_name))
        book = books.setdefault(owner, {})
        if number not in book or (not book[number][0] and name):
            book[number] = (name, label)
    return books


def find_lenders(books: dict[str, Book]) -> dict[str, str]:
    """Return numbers any book saves under a lender or collector name."""
    return {number: name for book in books.values() for number, (name, label) in book.items()
            if label.category == LENDER}


def owner_relationships(ctx: Context) -> dict[str, str]:
    """Return what each third-party owner is to the debtor, from either side's book."""
    found = {}
    own_book = ctx.own_book
    for owner in ctx.third_parties:
        entry = own_book.get(owner)
        if entry and entry[1].category == KIN:
            found[owner] = entry[1].relationship
            continue
        for _name, label in ctx.saved_debtor_as(owner):
            if label.category == KIN and inverse_relationship(label.relationship):
                found[owner] = inverse_relationship(label.relationship)
                break
    return found
