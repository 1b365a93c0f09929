"""Every rule number is a policy setting; a portfolio's creditor may override any of them."""
from __future__ import annotations

from backend.auth.models import Role
from backend.policy.defaults import DEFAULTS, PROFILES
from backend.policy.service import default_policy, get_policy


def test_defaults_follow_design_numbers():
    policy = default_policy()
    assert (policy["contact.quiet_start"], policy["contact.quiet_end"]) == ("22:00", "08:00")
    assert policy["contact.third_party_unanswered_per_day"] == 6
    assert policy["contact.third_party_unanswered_per_hour"] == 2
    assert policy["visits.due_days"] == 3
    assert policy["visits.outsource_distance_m"] == 30_000
    assert policy["visits.geofence_m"] == 100


def test_portfolio_override_wins_over_profile_and_default(session, create_portfolio):
    portfolio = create_portfolio(profile="us_fdcpa", overrides={"visits.geofence_m": 150})
    policy = get_policy(session, portfolio.id)
    assert policy["contact.quiet_start"] == "21:00"          # from the US profile
    assert policy["visits.geofence_m"] == 150                # the creditor's own rule
    assert policy["visits.due_days"] == DEFAULTS["visits.due_days"]


def test_profiles_only_name_known_settings():
    for profile in PROFILES.values():
        assert set(profile) <= set(DEFAULTS)


def test_admin_sets_overrides_and_bad_keys_are_named(client, as_role):
    _, admin = as_role(Role.ADMIN)
    created = client.post("/api/v1/portfolios", headers=admin, json={
        "code": "cmb", "creditor": "China Merchants Bank", "overrides": {"contact.third_party_unanswered_per_day": 4}})
    assert created.status_code == 201
    assert created.json["effective"]["contact.third_party_unanswered_per_day"] == 4
    unknown = client.patch(f"/api/v1/portfolios/{created.json['id']}", headers=admin,
                           json={"overrides": {"contact.tape_doors": True}})
    assert unknown.status_code == 422
    assert "overrides.contact.tape_doors" in unknown.json["error"]["fields"]
    wrong_type = client.patch(f"/api/v1/portfolios/{created.json['id']}", headers=admin,
                              json={"overrides": {"visits.geofence_m": "wide"}})
    assert wrong_type.status_code == 422


def test_unknown_profile_is_422(client, as_role):
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/portfolios", headers=admin,
                           json={"code": "x", "creditor": "X", "profile": "anything_goes"})
    assert response.status_code == 422
    assert "profile" in response.json["error"]["fields"]


def test_dispatcher_cannot_change_rules(client, as_role, create_portfolio):
    _, dispatcher = as_role(Role.DISPATCHER)
    portfolio = create_portfolio()
    response = client.patch(f"/api/v1/portfolios/{portfolio.id}", headers=dispatcher,
                            json={"overrides": {"contact.quiet_start": "23:30"}})
    assert response.status_code == 403
