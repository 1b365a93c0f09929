"""The one quiet-window arithmetic (policy/hours): inside a daily window, and when it ends, across midnight.

The debtor's quiet hours, a staff member's own quiet period (notify), a dispatcher's shift and the
collector's curfew and rest (safety) all use these functions; the cases below pin their edges.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.policy.defaults import DEFAULTS
from backend.policy.hours import (
    REMINDER,
    after_quiet_period,
    in_daily_window,
    is_quiet_time,
    next_lawful_time,
    next_local_time,
    quiet_hours_apply,
    quiet_period_end,
)
from backend.policy.service import effective_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
US = effective_settings("us_fdcpa", None)
NIGHT = (time(22), time(8))  # crosses midnight
LUNCH = (time(12), time(13, 30))  # inside one day


def local(day: str, hhmm: str, zone=SHANGHAI) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=zone)


@pytest.mark.parametrize(("hhmm", "inside"), [
    ("21:59", False), ("22:00", True), ("23:59", True), ("00:00", True), ("07:59", True), ("08:00", False),
    ("12:00", False)])
def test_a_window_across_midnight_holds_from_its_start_up_to_not_including_its_end(hhmm, inside):
    assert in_daily_window(time.fromisoformat(hhmm), *NIGHT) is inside


@pytest.mark.parametrize(("hhmm", "inside"), [
    ("11:59", False), ("12:00", True), ("13:29", True), ("13:30", False), ("00:00", False), ("23:59", False)])
def test_a_window_inside_one_day(hhmm, inside):
    assert in_daily_window(time.fromisoformat(hhmm), *LUNCH) is inside


def test_a_window_that_starts_where_it_ends_is_empty():
    assert not any(in_daily_window(time(h, m), time(9), time(9)) for h in range(24) for m in (0, 59))
    assert quiet_period_end(local("2026-11-10", "09:00"), time(9), time(9)) is None


@pytest.mark.parametrize(("day", "hhmm", "ends"), [
    ("2026-11-10", "22:00", "2026-11-11T08:00"),  # the start itself: tomorrow morning
    ("2026-11-10", "23:30", "2026-11-11T08:00"),  # before midnight: tomorrow
    ("2026-11-11", "00:00", "2026-11-11T08:00"),  # past midnight: this morning
    ("2026-11-11", "07:59", "2026-11-11T08:00"),
    ("2026-11-11", "08:00", None),  # the end itself is outside
    ("2026-11-11", "21:59", None),
    ("2026-12-31", "23:00", "2027-01-01T08:00"),  # across a year's end
])
def test_when_a_quiet_period_across_midnight_ends(day, hhmm, ends):
    expected = None if ends is None else datetime.fromisoformat(ends).replace(tzinfo=SHANGHAI)
    assert quiet_period_end(local(day, hhmm), *NIGHT) == expected


def test_when_a_quiet_period_inside_one_day_ends():
    assert quiet_period_end(local("2026-11-10", "12:00"), *LUNCH) == local("2026-11-10", "13:30")
    assert quiet_period_end(local("2026-11-10", "13:30"), *LUNCH) is None
    assert quiet_period_end(local("2026-11-10", "11:00"), *LUNCH) is None


def test_no_quiet_period_set_holds_nothing():
    moment = datetime(2026, 11, 10, 15, tzinfo=UTC)
    for start, end in ((None, None), (time(22), None), (None, time(8))):
        assert quiet_period_end(moment.astimezone(SHANGHAI), start, end) is None
        assert after_quiet_period(moment, "Asia/Shanghai", start, end) is moment


def test_after_quiet_period_reads_the_moment_in_the_given_zone():
    moment = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai, 10:00 in New York
    assert after_quiet_period(moment, "Asia/Shanghai", *NIGHT) == datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
    assert after_quiet_period(moment, "America/New_York", *NIGHT) is moment


def test_a_quiet_period_ends_at_the_local_wall_clock_across_a_daylight_saving_change():
    # New York springs forward on 2026-03-08 at 02:00: the night is an hour shorter, the morning is still 08:00.
    ends = after_quiet_period(datetime(2026, 3, 8, 4, 0, tzinfo=UTC), "America/New_York", *NIGHT)  # 23:00 EST
    assert ends == local("2026-03-08", "08:00", NEW_YORK) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_next_local_time_is_strictly_after():
    assert next_local_time(local("2026-11-10", "22:29"), time(22, 30)) == local("2026-11-10", "22:30")
    assert next_local_time(local("2026-11-10", "22:30"), time(22, 30)) == local("2026-11-11", "22:30")


def test_in_the_hour_a_fall_back_repeats_the_end_is_never_in_the_past():
    # New York falls back on 2026-11-01 at 02:00 EDT: 01:00-01:59 is read twice. At 01:30 on the second pass
    # (EST, 06:30 UTC) a period ending 01:45 ends at 01:45 EST, not at the 01:45 EDT already gone.
    second_pass = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert second_pass.astimezone(NEW_YORK).fold == 1
    ends = datetime(2026, 11, 1, 6, 45, tzinfo=UTC)
    # (Compared in UTC: Python never finds a datetime in a repeated hour equal to one of another zone.)
    assert next_local_time(second_pass.astimezone(NEW_YORK), time(1, 45)).astimezone(UTC) == ends
    assert after_quiet_period(second_pass, "America/New_York", time(23), time(1, 45)).astimezone(UTC) == ends
    # On the first pass (EDT) nothing changes: 01:45 EDT is ahead.
    first_pass = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert (next_local_time(first_pass.astimezone(NEW_YORK), time(1, 45)).astimezone(UTC)
            == datetime(2026, 11, 1, 5, 45, tzinfo=UTC))
    for minute in range(0, 120):  # every minute of both passes: strictly after, and reading 01:45
        moment = datetime(2026, 11, 1, 5, 0, tzinfo=UTC) + timedelta(minutes=minute)
        found = next_local_time(moment.astimezone(NEW_YORK), time(1, 45))
        assert found > moment and found.astimezone(NEW_YORK).time() == time(1, 45)


def test_the_debtors_quiet_hours_use_the_same_arithmetic():
    night = datetime(2026, 11, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert is_quiet_time(night, "Asia/Shanghai", DEFAULTS, "call")
    assert next_lawful_time(night, "Asia/Shanghai", DEFAULTS, "call") == local("2026-11-11", "08:00")
    assert next_lawful_time(night, "Asia/Shanghai", DEFAULTS, "letter") is night


def test_a_promise_reminder_keeps_the_quiet_hours_even_where_ordinary_sms_do_not():
    night = datetime(2026, 11, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    # cn_default: an SMS is not quiet-governed, a reminder SMS is (notify.reminders_in_lawful_hours).
    assert not is_quiet_time(night, "Asia/Shanghai", DEFAULTS, "sms")
    assert is_quiet_time(night, "Asia/Shanghai", DEFAULTS, REMINDER)
    assert next_lawful_time(night, "Asia/Shanghai", DEFAULTS, REMINDER) == local("2026-11-11", "08:00")
    # Without the flag a reminder follows the SMS channel: free under cn_default, quiet under us_fdcpa.
    assert quiet_hours_apply(REMINDER, {**DEFAULTS, "notify.reminders_in_lawful_hours": False}) is False
    assert quiet_hours_apply(REMINDER, {**US, "notify.reminders_in_lawful_hours": False}) is True
    assert quiet_hours_apply(REMINDER, US) is True
