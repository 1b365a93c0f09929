"""The lawful-contact rules: may this party be contacted on this channel at this moment, and if not, why.

Every number comes from the portfolio's policy (profiles cn_default, us_fdcpa, overrides). The
counters behind the caps come from one SQL statement (FILTER clauses) over the (case_id, contact_id,
started_at) index: one range scan per check, never a Python loop over the log.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import Case, CaseContact, ContactStatus
from backend.contacts.models import Channel
from backend.dbtypes import driver
from backend.policy.hours import is_quiet_time, local_day_bounds, next_lawful_time
from backend.policy.service import get_policy

# The unit each cap's name speaks of ("per hour", "per 7 days"): definitions, not tunable numbers.
HOUR = timedelta(hours=1)
CALL_WEEK = timedelta(days=7)
SPOUSE = "spouse"
GUARANTOR = "guarantor"


@dataclass(frozen=True)
class Party:
    """Who is being contacted: the debtor (contact None) or a third party; obligors are told the debt."""

    contact: CaseContact | None
    obligor: bool

    @property
    def contact_id(self) -> int | None:
        return None if self.contact is None else self.contact.id

    @property
    def label(self) -> str:
        return "debtor" if self.contact is None else str(self.contact.id)

    @property
    def name(self) -> str:
        return "the debtor" if self.contact is None else f"contact {self.contact.id} ({self.contact.relationship})"


def classify_party(contact: CaseContact | None, policy: Mapping) -> Party:
    """Return the party; a guarantor (and, under US rules, the spouse) is treated as the debtor."""
    if contact is None:
        return Party(None, True)
    guarantor = contact.is_guarantor or contact.relationship == GUARANTOR
    obligor = (guarantor and policy["contact.guarantor_is_obligor"]) or (
        contact.relationship == SPOUSE and policy["contact.spouse_is_debtor"])
    return Party(contact, bool(obligor))


@dataclass(frozen=True)
class Violation:
    code: str
    rule: str                         # the policy setting that forbids it
    message: str
    until: datetime | None = None     # when waiting cures it; None: waiting does not

    def as_dict(self) -> dict:
        return {"code": self.code, "rule": self.rule, "message": self.message,
                "until": self.until.isoformat() if self.until else None}


@dataclass(frozen=True)
class RuleCheck:
    party: Party
    at: datetime
    violations: tuple[Violation, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def next_allowed_at(self) -> datetime | None:
        """The earliest moment all current violations have lapsed (None if one never lapses)."""
        if not self.violations or any(v.until is None for v in self.violations):
            return None
        return max(v.until for v in self.violations)


@dataclass(frozen=True)
class Counters:
    unanswered_day: int
    hour_times: list[datetime]        # unanswered capped attempts within an hour either side, oldest first
    answered_day: int
    week_times: list[datetime]        # capped attempts within 7 days either side, oldest first
    last_conversation: datetime | None
    reached_ever: int
    do_not_contact: bool | None


def sliding_cap_until(times: list[datetime], at: datetime, window: timedelta, cap: int) -> datetime | None:
    """If an attempt at `at` would join `cap` others within one window, return when it no longer would.

    "At most N within any hour" holds for every window, so attempts logged out of order (late entries,
    two phones at once) count too: any `cap` consecutive attempts spanning, with `at`, less than a window.
    """
    if not cap or len(times) < cap:
        return None
    until = None
    for first in range(len(times) - cap + 1):
        group = times[first:first + cap]
        if max(group[-1], at) - min(group[0], at) < window:
            lapses = group[0] + window  # once `at` is a window past the group's first attempt
            until = lapses if until is None else max(until, lapses)
    return until


def _channels(policy: Mapping, key: str) -> list[Channel]:
    return [c for c in Channel if c.value in policy[key]]


# The counters statement, written once as SQL: it runs on every attempt and every next-contact step,
# and building it with the expression language each time cost more than PostgreSQL takes to run it.
_COUNTERS_SQL = """
SELECT
  count(*) FILTER (WHERE {unanswered} AND started_at >= :day_start AND started_at < :day_end) AS unanswered_day,
  array_agg(started_at ORDER BY started_at)
     FILTER (WHERE {unanswered} AND started_at > :hour_start AND started_at < :hour_end) AS hour_times,
  count(*) FILTER (WHERE {conversation} AND started_at >= :day_start AND started_at < :day_end) AS answered_day,
  array_agg(started_at ORDER BY started_at)
     FILTER (WHERE {capped} AND started_at > :week_start AND started_at < :week_end) AS week_times,
  max(started_at) FILTER (WHERE {conversation} AND started_at > :conversation_since AND started_at <= :at)
     AS last_conversation,
  (SELECT count(*) FROM (SELECT 1 FROM contact_attempts r
    WHERE r.case_id = :case_id AND {reach_party} AND r.reached AND r.started_at <= :at LIMIT :reach_cap) x)
     AS reached_ever,
  (SELECT d.active FROM do_not_contact_events d
    WHERE d.case_id = :case_id AND {dnc_party} AND d.at <= :at ORDER BY d.at DESC, d.id DESC LIMIT 1)
     AS do_not_contact
FROM contact_attempts
WHERE case_id = :case_id AND {party} AND started_at >= :lower AND started_at < :upper
"""
_CAPPED = "channel = ANY(CAST(:capped AS contact_channel[]))"


@lru_cache(maxsize=2)
def _counters_text(debtor: bool) -> sa.TextClause:
    """The statement for the debtor (contact_id IS NULL, indexable) or for one contact."""
    party = "IS NULL" if debtor else "= :contact_id"
    return sa.text(_COUNTERS_SQL.format(
        unanswered=f"({_CAPPED} AND NOT reached)", conversation=f"({_CAPPED} AND reached)", capped=_CAPPED,
        party=f"contact_id {party}", dnc_party=f"d.contact_id {party}", reach_party=f"r.contact_id {party}"))


def counters_query(*, case_id: int, party: Party, at: datetime, tz_name: str,
                   policy: Mapping) -> tuple[sa.TextClause, dict]:
    """Return the one statement computing every counter for (case, party, at), and its parameters."""
    day_start, day_end = local_day_bounds(at, tz_name)
    conversation_since = at - timedelta(days=policy["contact.quiet_days_after_conversation"])
    params = {
        "case_id": case_id, "contact_id": party.contact_id, "at": at, "day_start": day_start, "day_end": day_end,
        "hour_start": at - HOUR, "hour_end": at + HOUR, "week_start": at - CALL_WEEK, "week_end": at + CALL_WEEK,
        "conversation_since": conversation_since,
        "lower": min(day_start, at - HOUR, at - CALL_WEEK, conversation_since),
        "upper": max(day_end, at + CALL_WEEK),
        # The lifetime count stops at the cap: it only has to say whether the cap is reached.
        "reach_cap": 0 if party.obligor else policy["contact.third_party_max_contacts"],
        "capped": [c.value for c in _channels(policy, "contact.capped_channels")],
    }
    return _counters_text(party.contact_id is None), params


@lru_cache(maxsize=2)
def _counters_driver_sql(debtor: bool) -> str:
    """The same statement in psycopg's %(name)s style, for the session's DBAPI connection."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", _counters_text(debtor).text)


def count_attempts(session: Session, *, case_id: int, party: Party, at: datetime, tz_name: str,
                   policy: Mapping) -> Counters:
    """Run the counters statement.

    On the session's DBAPI connection (same transaction): every attempt and every outcome from the door
    runs it, and SQLAlchemy's execution layer cost more than the statement.
    """
    _statement, params = counters_query(case_id=case_id, party=party, at=at, tz_name=tz_name, policy=policy)
    cursor = driver(session).execute(_counters_driver_sql(party.contact_id is None), params)
    row = dict(zip((column.name for column in cursor.description), cursor.fetchone(), strict=True))
    row["hour_times"], row["week_times"] = row["hour_times"] or [], row["week_times"] or []
    return Counters(**row)


def check_attempt(session: Session, *, case: Case, contact: CaseContact | None, channel: Channel | str,
                  at: datetime, policy: Mapping | None = None) -> RuleCheck:
    """Check a contact attempt against every rule; return all violations (empty when lawful)."""
    policy = policy or get_policy(session, case.portfolio_id)
    channel = Channel(channel)
    party = classify_party(contact, policy)
    counters = count_attempts(session, case_id=case.id, party=party, at=at, tz_name=case.timezone,
                              policy=policy)
    violations = _standing_violations(case, party, counters, policy)
    if is_quiet_time(at, case.timezone, policy, channel):
        violations.append(Violation(
            "quiet_hours", "contact.quiet_start",
            f"no {channel.value} between {policy['contact.quiet_start']} and {policy['contact.quiet_end']} "
            f"in the debtor's local time ({case.timezone})", next_lawful_time(at, case.timezone, policy, channel)))
    if channel in _channels(policy, "contact.capped_channels"):
        caps = _obligor_caps if party.obligor else _third_party_caps
        violations.extend(caps(party, counters, at, case.timezone, policy, channel))
    return RuleCheck(party, at, tuple(violations))


def _standing_violations(case: Case, party: Party, counters: Counters, policy: Mapping) -> list[Violation]:
    """Rules that waiting does not cure: do-not-contact, third parties while the debtor is reachable."""
    found = []
    dnc = counters.do_not_contact
    if dnc is None and party.contact is not None:
        dnc = party.contact.do_not_contact  # flagged before any recorded event (e.g. at import)
    if dnc:
        found.append(Violation("do_not_contact", "do_not_contact",
                               f"{party.name} asked not to be contacted"))
    if not party.obligor:
        if policy["contact.third_party_only_when_unreachable"] and case.contact_status == ContactStatus.REACHABLE:
            found.append(Violation("debtor_reachable", "contact.third_party_only_when_unreachable",
                                   "a third party may be contacted only to reach a debtor who is "
                                   "semi_lost or lost; this debtor is reachable"))
        limit = policy["contact.third_party_max_contacts"]
        if limit and counters.reached_ever >= limit:
            found.append(Violation("third_party_cap", "contact.third_party_max_contacts",
                                   f"{party.name} was already spoken to; the limit is {limit} "
                                   f"conversation(s) with a third party"))
    return found


def _lawful(moment: datetime, tz_name: str, policy: Mapping, channel: Channel) -> datetime:
    return next_lawful_time(moment, tz_name, policy, channel)


def _obligor_caps(party, counters, at, tz_name, policy, channel) -> list[Violation]:
    found = []
    next_day = _lawful(local_day_bounds(at, tz_name)[1], tz_name, policy, channel)
    per_day = policy["contact.debtor_answered_calls_per_day"]
    if per_day and counters.answered_day >= per_day:
        found.append(Violation("debtor_call_cap", "contact.debtor_answered_calls_per_day",
                               f"{counters.answered_day} answered calls with {party.name} today; "
                               f"the limit is {per_day} a day", next_day))
    per_week = policy["contact.debtor_calls_per_7_days"]
    week_until = sliding_cap_until(counters.week_times, at, CALL_WEEK, per_week)
    if week_until is not None:
        found.append(Violation("weekly_call_cap", "contact.debtor_calls_per_7_days",
                               f"{per_week} calls to {party.name} within 7 days of this one already; "
                               f"the limit is {per_week}", _lawful(week_until, tz_name, policy, channel)))
    quiet_days = policy["contact.quiet_days_after_conversation"]
    if quiet_days and counters.last_conversation:
        found.append(Violation("recent_conversation", "contact.quiet_days_after_conversation",
                               f"a conversation with {party.name} took place within the last {quiet_days} days",
                               _lawful(counters.last_conversation + timedelta(days=quiet_days), tz_name,
                                       policy, channel)))
    return found


def _third_party_caps(party, counters, at, tz_name, policy, channel) -> list[Violation]:
    found = []
    per_day = policy["contact.third_party_unanswered_per_day"]
    if per_day and counters.unanswered_day >= per_day:
        found.append(Violation("third_party_cap", "contact.third_party_unanswered_per_day",
                               f"{counters.unanswered_day} unanswered attempts to {party.name} today; "
                               f"the limit is {per_day} a day",
                               _lawful(local_day_bounds(at, tz_name)[1], tz_name, policy, channel)))
    per_hour = policy["contact.third_party_unanswered_per_hour"]
    hour_until = sliding_cap_until(counters.hour_times, at, HOUR, per_hour)
    if hour_until is not None:
        found.append(Violation("third_party_cap", "contact.third_party_unanswered_per_hour",
                               f"{per_hour} unanswered attempts to {party.name} within an hour of this one "
                               f"already; the limit is {per_hour} within any hour",
                               _lawful(hour_until, tz_name, policy, channel)))
    return found
