"""Working days in the debtor's country: public holidays and China's make-up working days (调休)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.policy.calendar import add_working_days, is_working_day, working_days_before
from backend.policy.defaults import DEFAULTS, PROFILES
from backend.visits.requests import due_by_for

CN = dict(DEFAULTS)
US = {**DEFAULTS, **PROFILES["us_fdcpa"]}


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 2, 14), True),    # Saturday, worked to make up for the Spring Festival
    (date(2026, 2, 17), False),   # Spring Festival, a Tuesday
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 10), True),   # Saturday after National Day, a make-up working day
    (date(2026, 11, 25), True),   # an ordinary Wednesday
    (date(2026, 11, 28), False),  # an ordinary Saturday
])
def test_china_official_calendar(day, working):
    assert is_working_day(day, CN) is working


def test_china_beyond_chinesecalendars_years_falls_back_to_holidays():
    assert is_working_day(date(2027, 10, 1), CN) is False  # National Day
    assert is_working_day(date(2027, 10, 13), CN) is True  # an ordinary Wednesday


def test_us_observed_holiday():
    assert is_working_day(date(2026, 7, 3), US) is False   # Independence Day observed (the 4th is a Saturday)
    assert is_working_day(date(2026, 2, 14), US) is False  # just a Saturday there


def test_working_days_skip_the_spring_festival():
    assert add_working_days(date(2026, 2, 13), 1, CN) == date(2026, 2, 14)  # Friday -> the make-up Saturday
    assert add_working_days(date(2026, 2, 14), 1, CN) == date(2026, 2, 24)  # over the nine-day holiday
    assert working_days_before(date(2026, 2, 24), 1, CN) == date(2026, 2, 14)


def test_a_visit_is_due_in_working_days():
    before_holiday = datetime(2026, 9, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    due = due_by_for(before_holiday, "Asia/Shanghai", CN)  # 3 working days: Oct 8, 9, 10 (Sat, make-up)
    assert due.date() == date(2026, 10, 10) and due - before_holiday == timedelta(days=10)


def test_an_unknown_country_is_422(client, as_role):
    _, headers = as_role("admin")
    response = client.post("/api/v1/portfolios", json={"code": "x1", "creditor": "X",
                                                         "overrides": {"calendar.country": "ZZ"}}, headers=headers)
    assert response.status_code == 422
    assert "overrides.calendar.country" in response.json["error"]["fields"]
