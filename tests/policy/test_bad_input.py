"""Portfolio overrides the database cannot store: 422 naming the override, never a 500."""
from __future__ import annotations

from backend.auth.models import Role


def test_non_finite_override_is_422(client, as_role, create_portfolio):
    _, headers = as_role(Role.ADMIN)
    portfolio = create_portfolio()
    for number in (b"NaN", b"Infinity", b"1e400"):
        body = b'{"overrides": {"visits.due_days": ' + number + b"}}"
        response = client.patch(f"/api/v1/portfolios/{portfolio.id}", data=body, content_type="application/json",
                                headers=headers)
        assert response.status_code == 422, number
        assert set(response.json["error"]["fields"]) == {"overrides.visits.due_days"}


def test_time_of_day_override_must_be_hh_mm(client, as_role, create_portfolio):
    _, headers = as_role(Role.ADMIN)
    portfolio = create_portfolio()
    for value in ("25:99", "", "9pm"):
        response = client.patch(f"/api/v1/portfolios/{portfolio.id}",
                                json={"overrides": {"contact.quiet_start": value}}, headers=headers)
        assert response.status_code == 422, value
        assert set(response.json["error"]["fields"]) == {"overrides.contact.quiet_start"}


def test_override_past_what_the_rules_compute_with_is_422(client, as_role, create_portfolio):
    _, headers = as_role(Role.ADMIN)
    portfolio = create_portfolio()
    for key, value in (("contact.quiet_days_after_conversation", 10**9), ("contact.third_party_max_contacts", 1e308),
                       ("visits.due_days", 10**6)):
        response = client.patch(f"/api/v1/portfolios/{portfolio.id}", json={"overrides": {key: value}},
                                headers=headers)
        assert response.status_code == 422, key
        assert set(response.json["error"]["fields"]) == {f"overrides.{key}"}


def test_count_override_must_be_a_whole_number(client, as_role, create_portfolio):
    _, headers = as_role(Role.ADMIN)
    portfolio = create_portfolio()
    response = client.patch(f"/api/v1/portfolios/{portfolio.id}",
                            json={"overrides": {"contact.debtor_calls_per_7_days": 0.5}}, headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"overrides.contact.debtor_calls_per_7_days"}


def test_working_weekdays_override_must_name_real_iso_weekdays(client, as_role, create_portfolio):
    _, headers = as_role(Role.ADMIN)
    portfolio = create_portfolio()
    for value in ([], ["nope"], [0, 8]):
        response = client.patch(f"/api/v1/portfolios/{portfolio.id}",
                                json={"overrides": {"contact.working_weekdays": value}}, headers=headers)
        assert response.status_code == 422, value
        assert set(response.json["error"]["fields"]) == {"overrides.contact.working_weekdays"}
