"""Working days in the debtor's country: weekends, public holidays and make-up working days.

China moves weekends around its holidays (调休): a Saturday may be a working day and a Wednesday a
holiday, set each year by the State Council. `chinesecalendar` carries those notices year by year
(exactly, for the years it knows); `holidays` (python-holidays) covers every other country and is the
fallback for China beyond chinesecalendar's years (it also lists China's make-up days). The portfolio's
`calendar.country` picks the country and `contact.working_weekdays` the ordinary working week.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar
import holidays

# No count of working days may search the calendar forever (a policy whose week has no working day).
MAX_SEARCH_DAYS = 3660


@functools.cache
def is_known_country(code: str) -> bool:
    """Whether the holiday calendar knows this ISO 3166 alpha-2 code."""
    return isinstance(code, str) and code.upper() in holidays.list_supported_countries()


@functools.lru_cache(maxsize=256)
def _public(country: str, year: int):
    return holidays.country_holidays(country, years=year)


def _china(day: date) -> bool | None:
    """China's official answer for the day (holidays and 调休 included), or None beyond the data's years."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def is_working_day(day: date, policy: Mapping) -> bool:
    """Whether day is a working day for the portfolio's country and working week."""
    country = str(policy["calendar.country"]).upper()
    weekdays = set(policy["contact.working_weekdays"])
    public = _public(country, day.year)
    if country == "CN":
        official = _china(day)
        if official is not None:
            # The official calendar decides holidays and make-up days; the portfolio's week the rest.
            is_make_up = official and day.isoweekday() in (6, 7)
            is_holiday = not official and day.isoweekday() <= 5
            if is_make_up or is_holiday:
                return is_make_up
            return day.isoweekday() in weekdays
    if day in getattr(public, "weekend_workdays", ()):
        return True
    return day not in public and day.isoweekday() in weekdays


def _step(day: date, count: int, policy: Mapping, direction: int) -> date:
    if count <= 0:
        return day
    current = day
    for _ in range(MAX_SEARCH_DAYS):
        current += timedelta(days=direction)
        if is_working_day(current, policy):
            count -= 1
            if count == 0:
                return current
    raise ValueError("no working day within ten years: check contact.working_weekdays")


def add_working_days(day: date, count: int, policy: Mapping) -> date:
    """The date `count` working days after `day`."""
    return _step(day, count, policy, +1)


def working_days_before(day: date, count: int, policy: Mapping) -> date:
    """The date `count` working days before `day` (a reminder the working day(s) before a due date)."""
    return _step(day, count, policy, -1)
