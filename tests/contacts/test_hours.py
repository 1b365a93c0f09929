"""Lawful hours helpers (the route planner uses lawful_windows) in the debtor's timezone."""
from __future__ import annotations

from datetime import date

from backend.policy.defaults import DEFAULTS, PROFILES
from backend.policy.hours import lawful_windows, local_day_bounds, next_lawful_time, quiet_hours_apply
from backend.policy.service import effective_settings
from tests.contacts.conftest import NEW_YORK, at

US = effective_settings("us_fdcpa", None)


def test_lawful_window_is_0800_to_2200_local_and_2100_under_us_rules():
    assert lawful_windows(date(2026, 11, 10), "Asia/Shanghai", DEFAULTS) == [(at("08:00"), at("22:00"))]
    assert lawful_windows(date(2026, 11, 10), NEW_YORK, US) == [(at("08:00", tz=NEW_YORK), at("21:00", tz=NEW_YORK))]


def test_quiet_hours_apply_to_calls_and_visits_and_us_messages():
    assert [quiet_hours_apply(c, DEFAULTS) for c in ("call", "visit", "sms", "letter")] == [True, True, False, False]
    assert quiet_hours_apply("sms", US) is True
    assert set(PROFILES["us_fdcpa"]) <= set(DEFAULTS)


def test_local_day_and_first_lawful_moment():
    assert local_day_bounds(at("23:30"), "Asia/Shanghai") == (at("00:00"), at("00:00", "2026-11-11"))
    midnight = at("00:00")  # the first moment of the local day
    assert next_lawful_time(midnight, "Asia/Shanghai", DEFAULTS, "call") == at("08:00")
    assert next_lawful_time(midnight, "Asia/Shanghai", DEFAULTS, "sms") == at("00:00")
