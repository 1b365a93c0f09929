"""Lawful contact hours: when a call or a visit may happen, in the debtor's local time."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.timeutil import parse_hhmm


def quiet_bounds(policy: Mapping) -> tuple[time, time]:
    """Return (quiet_start, quiet_end) local times from the policy."""
    return parse_hhmm(policy["contact.quiet_start"]), parse_hhmm(policy["contact.quiet_end"])


def is_quiet_time(moment: datetime, tz_name: str, policy: Mapping) -> bool:
    """Whether moment falls in the quiet hours of the debtor's timezone."""
    start, end = quiet_bounds(policy)
    local = moment.astimezone(ZoneInfo(tz_name)).time()
    if start > end:  # spans midnight: 22:00-08:00
        return local >= start or local < end
    return start <= local < end


def lawful_windows(day: date, tz_name: str, policy: Mapping) -> list[tuple[datetime, datetime]]:
    """Return the UTC intervals of `day` (local to tz_name) in which contact is allowed."""
    start, end = quiet_bounds(policy)
    zone = ZoneInfo(tz_name)
    if start > end:  # allowed from quiet_end to quiet_start on the same local day
        return [(datetime.combine(day, end, zone), datetime.combine(day, start, zone))]
    midnight = datetime.combine(day, time(0), zone)
    return [(midnight, datetime.combine(day, start, zone)),
            (datetime.combine(day, end, zone), midnight + timedelta(days=1))]


def next_lawful_time(moment: datetime, tz_name: str, policy: Mapping) -> datetime:
    """Return moment if contact is allowed then, else when the quiet hours end."""
    if not is_quiet_time(moment, tz_name, policy):
        return moment
    _, end = quiet_bounds(policy)
    local = moment.astimezone(ZoneInfo(tz_name))
    candidate = datetime.combine(local.date(), end, local.tzinfo)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, local.tzinfo)
    return candidate
