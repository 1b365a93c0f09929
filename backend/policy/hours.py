"""Lawful contact hours: when a call, a message or a visit may happen, in the debtor's local time.

`is_quiet_time` is THE quiet-hours decision: contacts (rules, next contact, reminders), visits (the
outcome's quiet-hours flag) and planning (arrival windows) all ask it, or a helper built on it, with
the channel in question, so `contact.quiet_hours_channels`, `contact.quiet_start` and
`contact.quiet_end` of the case's portfolio are honoured the same way everywhere. A promise reminder
asks as `REMINDER`: its SMS keeps the quiet hours under `notify.reminders_in_lawful_hours` even
where ordinary SMS do not (`quiet_hours_apply`).

The window arithmetic under it is here once too (`in_daily_window`, `quiet_period_end`,
`next_local_time`): a staff member's own quiet period (notify), a dispatcher's shift and a collector's
curfew and night's rest (safety) are daily windows and wall-clock times of the same kind, possibly
across midnight.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.timeutil import parse_hhmm

# The channel the field and the planner act on; contact attempts name theirs.
VISIT = "visit"
# A promise-to-pay reminder: an SMS the debtor did not ask for (backend/contacts/reminders.py).
REMINDER = "reminder"
REMINDER_CHANNEL = "sms"


def in_daily_window(local: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in the daily window [start, end).

    start > end crosses midnight (22:00-08:00: 23:00 and 07:59 are in, 08:00 is not); start == end is
    an empty window.
    """
    if start > end:
        return local >= start or local < end
    return start <= local < end


def next_local_time(local: datetime, at: time) -> datetime:
    """The first moment after `local` (an aware local datetime) whose wall clock reads `at`: today's
    if it is still ahead, else tomorrow's; in local's zone.

    In the hour a fall-back repeats, `local` may be on its second pass (fold 1) while today's `at`
    read on the first pass is already over: the wall clock reads `at` again, on the second pass.
    """
    candidate = datetime.combine(local.date(), at, local.tzinfo)
    if candidate <= local:  # same tzinfo: Python compares the wall clocks
        return datetime.combine(local.date() + timedelta(days=1), at, local.tzinfo)
    if candidate.astimezone(UTC) <= local.astimezone(UTC):
        return candidate.replace(fold=1)
    return candidate


def quiet_period_end(local: datetime, start: time | None, end: time | None) -> datetime | None:
    """When the daily quiet period [start, end) that covers `local` (an aware local datetime) ends, in
    local's zone; None when local is outside it or no period is set (start or end None, or equal).
    Across midnight (22:00-08:00) 23:00 ends at 08:00 tomorrow, 07:00 at 08:00 today."""
    if start is None or end is None or not in_daily_window(local.time(), start, end):
        return None
    return next_local_time(local, end)


def after_quiet_period(moment: datetime, tz_name: str, start: time | None, end: time | None) -> datetime:
    """`moment`, or when the daily quiet period [start, end) of tz_name's local time covering it ends."""
    ends = quiet_period_end(moment.astimezone(ZoneInfo(tz_name)), start, end)
    return moment if ends is None else ends


def quiet_bounds(policy: Mapping) -> tuple[time, time]:
    """Return (quiet_start, quiet_end) local times from the policy."""
    return parse_hhmm(policy["contact.quiet_start"]), parse_hhmm(policy["contact.quiet_end"])


def quiet_hours_apply(channel, policy: Mapping) -> bool:
    """Whether the quiet hours govern this channel (calls and visits; a letter is never 'at night').

    A promise reminder (REMINDER) is an SMS: governed when SMS are, and always while
    `notify.reminders_in_lawful_hours` (cn_default leaves ordinary SMS out of the quiet hours, but
    not the reminders the system sends on its own).
    """
    name = str(getattr(channel, "value", channel))
    if name == REMINDER:
        return bool(policy["notify.reminders_in_lawful_hours"]) or quiet_hours_apply(REMINDER_CHANNEL, policy)
    return name in policy["contact.quiet_hours_channels"]


def is_quiet_time(moment: datetime, tz_name: str, policy: Mapping, channel=VISIT) -> bool:
    """Whether contact on channel at moment falls in the quiet hours of the debtor's timezone."""
    if not quiet_hours_apply(channel, policy):
        return False
    return in_daily_window(moment.astimezone(ZoneInfo(tz_name)).time(), *quiet_bounds(policy))


def lawful_windows(day: date, tz_name: str, policy: Mapping, channel=VISIT) -> list[tuple[datetime, datetime]]:
    """Return the UTC intervals of `day` (local to tz_name) in which contact on channel is allowed."""
    zone = ZoneInfo(tz_name)
    midnight = datetime.combine(day, time(0), zone)
    if not quiet_hours_apply(channel, policy):
        return [(midnight, datetime.combine(day + timedelta(days=1), time(0), zone))]
    start, end = quiet_bounds(policy)
    if start > end:  # allowed from quiet_end to quiet_start on the same local day
        return [(datetime.combine(day, end, zone), datetime.combine(day, start, zone))]
    return [(midnight, datetime.combine(day, start, zone)),
            (datetime.combine(day, end, zone), datetime.combine(day + timedelta(days=1), time(0), zone))]


def next_lawful_time(moment: datetime, tz_name: str, policy: Mapping, channel=VISIT) -> datetime:
    """Return moment if contact on channel is allowed then, else when the quiet hours end."""
    if not quiet_hours_apply(channel, policy):
        return moment
    return after_quiet_period(moment, tz_name, *quiet_bounds(policy))


def local_day_bounds(moment: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """Return the start and end (exclusive) of moment's local calendar day, as aware datetimes."""
    zone = ZoneInfo(tz_name)
    day = moment.astimezone(zone).date()
    return datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0), zone)


def next_local_day_start(moment: datetime, tz_name: str) -> datetime:
    """Return the first lawful-hours candidate of the next local day: its local midnight."""
    return local_day_bounds(moment, tz_name)[1]


def working_days_before(day: date, count: int, weekdays) -> date:
    """Return the date `count` working days before `day` (working = ISO weekday in weekdays)."""
    if not weekdays:
        raise ValueError("no working weekdays configured")
    current = day
    while count > 0:
        current -= timedelta(days=1)
        if current.isoweekday() in weekdays:
            count -= 1
    return current

