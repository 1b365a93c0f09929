"""Each lawful-contact rule at its boundary, in the debtor's timezone (the server runs in UTC)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from backend.cases.models import ContactStatus
from backend.contacts.models import ContactAttempt
from backend.contacts.rules import HOUR, sliding_cap_until
from tests.contacts.conftest import NEW_YORK, at, contact_named


def next_allowed(error) -> datetime:
    return datetime.fromisoformat(error["next_allowed_at"])


def refused(response, code):
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == code
    return response.json["error"]


def test_quiet_hours_2159_allowed_2200_refused_in_debtor_time(debtor_case, post_attempt):
    case = debtor_case()
    assert post_attempt(case, when=at("21:59")).status_code == 201
    error = refused(post_attempt(case, when=at("22:00")), "quiet_hours")
    assert error["fields"]["started_at"]
    assert next_allowed(error) == at("08:00", "2026-11-11")


def test_quiet_hours_end_at_0800_local(debtor_case, post_attempt):
    case = debtor_case()
    refused(post_attempt(case, when=at("07:59")), "quiet_hours")
    assert post_attempt(case, when=at("08:00")).status_code == 201


def test_quiet_hours_cover_visits_but_not_letters(debtor_case, post_attempt):
    case = debtor_case()
    refused(post_attempt(case, when=at("23:30"), channel="visit"), "quiet_hours")
    assert post_attempt(case, when=at("23:30"), channel="letter").status_code == 201


def test_us_profile_quiet_from_2100_in_new_york(debtor_case, post_attempt, us_portfolio):
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio)
    assert post_attempt(case, when=at("20:59", tz=NEW_YORK)).status_code == 201
    error = refused(post_attempt(case, when=at("21:00", tz=NEW_YORK)), "quiet_hours")
    assert next_allowed(error) == at("08:00", "2026-11-11", NEW_YORK)
    assert post_attempt(case, when=at("08:00", "2026-11-11", NEW_YORK)).status_code == 201


def test_sixth_unanswered_third_party_attempt_allowed_seventh_refused(debtor_case, post_attempt):
    case = debtor_case(status=ContactStatus.SEMI_LOST)
    friend = contact_named(case, "friend")
    for hour in ("09:00", "10:01", "11:02", "12:03", "13:04", "14:05"):
        assert post_attempt(case, friend, at(hour)).status_code == 201
    error = refused(post_attempt(case, friend, at("16:00")), "third_party_cap")
    assert error["violations"][0]["rule"] == "contact.third_party_unanswered_per_day"
    assert next_allowed(error) == at("08:00", "2026-11-11")
    # The cap is per third party and per local day.
    assert post_attempt(case, contact_named(case, "parent"), at("16:00")).status_code == 201
    assert post_attempt(case, friend, at("08:00", "2026-11-11")).status_code == 201


def test_second_within_an_hour_allowed_third_refused(debtor_case, post_attempt):
    case = debtor_case(status=ContactStatus.LOST)
    parent = contact_named(case, "parent")
    assert post_attempt(case, parent, at("10:00")).status_code == 201
    assert post_attempt(case, parent, at("10:30")).status_code == 201
    error = refused(post_attempt(case, parent, at("10:59")), "third_party_cap")
    assert error["violations"][0]["rule"] == "contact.third_party_unanswered_per_hour"
    assert next_allowed(error) == at("11:00")
    assert post_attempt(case, parent, at("11:00")).status_code == 201


def test_answered_third_party_calls_do_not_count_as_unanswered(debtor_case, post_attempt):
    case = debtor_case(status=ContactStatus.SEMI_LOST)
    parent = contact_named(case, "parent")
    for minute in ("10:00", "10:10", "10:20"):
        assert post_attempt(case, parent, at(minute), result="answered").status_code == 201


def test_three_answered_debtor_calls_a_day(debtor_case, post_attempt):
    case = debtor_case()
    assert post_attempt(case, when=at("09:00"), result="no_answer").status_code == 201
    for hour in ("10:00", "12:00", "14:00"):
        assert post_attempt(case, when=at(hour), result="answered").status_code == 201
    error = refused(post_attempt(case, when=at("16:00")), "debtor_call_cap")
    assert next_allowed(error) == at("08:00", "2026-11-11")


def test_third_parties_only_while_debtor_unreachable(debtor_case, post_attempt):
    case = debtor_case(status=ContactStatus.REACHABLE)
    error = refused(post_attempt(case, contact_named(case, "friend"), at("10:00")), "debtor_reachable")
    assert "next_allowed_at" not in error
    # A guarantor is liable for the debt: not a third party.
    assert post_attempt(case, contact_named(case, "guarantor"), at("10:00")).status_code == 201
    semi = debtor_case(status=ContactStatus.SEMI_LOST)
    assert post_attempt(semi, contact_named(semi, "friend"), at("10:00")).status_code == 201


def test_us_spouse_counts_as_the_debtor(debtor_case, post_attempt, us_portfolio):
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio)
    assert post_attempt(case, contact_named(case, "spouse"), at("10:00", tz=NEW_YORK)).status_code == 201
    refused(post_attempt(case, contact_named(case, "friend"), at("10:00", tz=NEW_YORK)), "debtor_reachable")
    cn_case = debtor_case()
    refused(post_attempt(cn_case, contact_named(cn_case, "spouse"), at("10:00")), "debtor_reachable")


def test_us_seven_calls_in_seven_days(debtor_case, post_attempt, us_portfolio):
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio)
    first = at("09:00", "2026-11-02", NEW_YORK)
    for n in range(7):
        assert post_attempt(case, when=first + timedelta(hours=n * 8 % 12, days=n // 2)).status_code == 201
    error = refused(post_attempt(case, when=at("10:00", "2026-11-08", NEW_YORK)), "weekly_call_cap")
    assert next_allowed(error) == (first + timedelta(days=7))
    assert post_attempt(case, when=first + timedelta(days=7)).status_code == 201


def test_us_no_call_within_seven_days_after_a_conversation(debtor_case, post_attempt, us_portfolio):
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio)
    talked = at("10:00", "2026-11-01", NEW_YORK)
    assert post_attempt(case, when=talked, result="answered").status_code == 201
    error = refused(post_attempt(case, when=talked + timedelta(days=6)), "recent_conversation")
    assert next_allowed(error) == (talked + timedelta(days=7))
    assert post_attempt(case, when=talked + timedelta(days=7)).status_code == 201


def test_us_third_party_once(debtor_case, post_attempt, us_portfolio):
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio, status=ContactStatus.LOST)
    friend = contact_named(case, "friend")
    assert post_attempt(case, friend, at("10:00", tz=NEW_YORK), result="answered").status_code == 201
    error = refused(post_attempt(case, friend, at("10:00", "2026-11-12", NEW_YORK)), "third_party_cap")
    assert error["violations"][0]["rule"] == "contact.third_party_max_contacts"
    assert "next_allowed_at" not in error


def test_refusal_body_lists_every_violation_and_stores_nothing(debtor_case, post_attempt, session):
    case = debtor_case(status=ContactStatus.REACHABLE)
    response = post_attempt(case, contact_named(case, "friend"), at("23:00"))
    error = refused(response, "debtor_reachable")
    assert set(error) >= {"code", "message", "fields", "violations"}
    assert [v["code"] for v in error["violations"]] == ["debtor_reachable", "quiet_hours"]
    assert set(error["fields"]) == {"party", "started_at"}
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0


def test_portfolio_override_changes_the_rule(debtor_case, post_attempt, create_portfolio):
    relaxed = create_portfolio(overrides={"contact.third_party_unanswered_per_hour": 3})
    case = debtor_case(status=ContactStatus.LOST, portfolio=relaxed)
    parent = contact_named(case, "parent")
    for minute in ("10:00", "10:20", "10:40"):
        assert post_attempt(case, parent, at(minute)).status_code == 201
    refused(post_attempt(case, parent, at("10:50")), "third_party_cap")


def test_the_day_of_a_daily_cap_is_the_debtors_local_day(debtor_case, post_attempt, us_portfolio):
    # New York evening attempts fall on the next UTC day; the cap still counts the local day.
    case = debtor_case(tz=NEW_YORK, portfolio=us_portfolio, status=ContactStatus.LOST)
    friend = contact_named(case, "friend")
    assert post_attempt(case, friend, at("09:00", tz=NEW_YORK)).status_code == 201
    late = at("20:30", tz=NEW_YORK)
    assert late.astimezone(UTC).date() != at("09:00", tz=NEW_YORK).astimezone(UTC).date()
    error = refused(post_attempt(case, friend, late), "third_party_cap")
    assert error["violations"][0]["rule"] == "contact.third_party_unanswered_per_day"
    assert post_attempt(case, friend, at("08:00", "2026-11-11", NEW_YORK)).status_code == 201


def test_any_hour_counts_attempts_logged_out_of_order():
    assert sliding_cap_until([at("10:21"), at("10:40")], at("10:20"), HOUR, 2) == at("11:21")
    assert sliding_cap_until([at("09:30"), at("10:40")], at("10:20"), HOUR, 2) is None  # 70 minutes apart
    assert sliding_cap_until([at("10:00")], at("10:20"), HOUR, 2) is None
