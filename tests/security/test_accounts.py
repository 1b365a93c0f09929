"""Findings 6–9: login throttling, what admins do and logins audited (append-only), the password policy
and the CLI's prompt, a collector's home only for themself and an admin editing the account."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from backend.audit.models import AuditEvent
from backend.auth.models import Role, User

TOKEN = "/api/v1/auth/token"
STRONG = "quiet-ferry-lantern-42"


def login(client, username, password, address="10.0.0.1"):
    return client.post(TOKEN, json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def audits(session, action):
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_ten_failures_for_a_username_then_429_with_retry_after(client, create_user):
    user = create_user(Role.DISPATCHER, password=STRONG)
    for i in range(10):  # from ten addresses: the username's own counter stops the eleventh
        assert login(client, user.username, "wrong-guess-000", address=f"10.1.0.{i}").status_code == 401
    refused = login(client, user.username, STRONG, address="10.1.0.99")
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60


def test_ten_failures_from_an_address_then_429_and_a_success_elsewhere_resets_nothing(client, create_user):
    victim = create_user(Role.DISPATCHER, password=STRONG)
    other = create_user(Role.DISPATCHER, password=STRONG)
    for i in range(10):  # ten usernames from one address
        assert login(client, f"guess{i}", "wrong-guess-000", address="10.2.0.1").status_code == 401
    assert login(client, other.username, STRONG, address="10.2.0.2").status_code == 200
    assert login(client, victim.username, STRONG, address="10.2.0.1").status_code == 429
    assert login(client, victim.username, STRONG, address="10.2.0.3").status_code == 200


def test_logins_are_audited_with_username_and_address(client, create_user, session):
    user = create_user(Role.TRACER, password=STRONG)
    login(client, user.username, "not-the-password", address="10.3.0.7")
    login(client, user.username, STRONG, address="10.3.0.8")
    [failed] = audits(session, "auth.login_failed")
    [succeeded] = audits(session, "auth.login_succeeded")
    assert (failed.actor_id, failed.details) == (None, {"username": user.username, "address": "10.3.0.7"})
    assert (succeeded.actor_id, succeeded.details) == (user.id, {"username": user.username, "address": "10.3.0.8"})


def test_user_created_role_changed_password_reset_and_deactivated_are_audited(client, as_role, session):
    admin, headers = as_role(Role.ADMIN)
    created = client.post("/api/v1/users", json={"username": "newhire", "password": STRONG, "role": "collector",
                                                 "name": "New Hire"}, headers=headers).json
    client.patch(f"/api/v1/users/{created['id']}", json={"role": "dispatcher"}, headers=headers)
    client.patch(f"/api/v1/users/{created['id']}", json={"password": "another-" + STRONG}, headers=headers)
    client.patch(f"/api/v1/users/{created['id']}", json={"active": False}, headers=headers)
    subject = str(created["id"])
    trail = [(e.action, e.actor_id, e.subject_id) for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.subject_type == "user", AuditEvent.subject_id == subject)
        .order_by(AuditEvent.id))]
    assert trail == [("user.created", admin.id, subject), ("user.role_changed", admin.id, subject),
                     ("user.password_reset", admin.id, subject), ("user.deactivated", admin.id, subject)]
    [role_change] = audits(session, "user.role_changed")
    assert (role_change.details["old"], role_change.details["new"]) == ("collector", "dispatcher")


def test_every_other_account_change_is_audited_with_old_and_new(client, as_role, session):
    admin, headers = as_role(Role.ADMIN)
    created = client.post("/api/v1/users", json={"username": "areas1", "password": STRONG, "role": "dispatcher",
                                                 "name": "Area Dispatcher"}, headers=headers).json
    assert client.patch(f"/api/v1/users/{created['id']}", json={"areas": ["510107"], "shift_end": "19:00"},
                        headers=headers).status_code == 200
    client.patch(f"/api/v1/users/{created['id']}", json={"areas": ["510107"]}, headers=headers)  # no change
    client.patch(f"/api/v1/users/{created['id']}", json={"home": {"lat": 30.61, "lon": 104.01}}, headers=headers)
    updates = audits(session, "user.updated")
    assert [u.details["changes"] for u in updates] == [
        {"areas": {"old": [], "new": ["510107"]}, "shift_end": {"old": "18:00", "new": "19:00"}},
        {"home": "changed"}]
    assert all(u.actor_id == admin.id for u in updates)
    assert "30.61" not in str(updates[1].details)  # the trail says a home changed, never where it is


def test_portfolio_changes_are_audited_with_the_overrides_diff(client, as_role, session):
    admin, headers = as_role(Role.ADMIN)
    created = client.post("/api/v1/portfolios", json={"code": "audited", "creditor": "Bank",
                                                      "overrides": {"contact.third_party_unanswered_per_day": 2}},
                          headers=headers).json
    client.patch(f"/api/v1/portfolios/{created['id']}", json={"overrides": {"tracing.raw_retention_days": 1000}},
                 headers=headers)
    [made] = audits(session, "portfolio.created")
    [changed] = audits(session, "portfolio.updated")
    assert made.actor_id == changed.actor_id == admin.id
    assert made.details["overrides"] == {"contact.third_party_unanswered_per_day": {"old": None, "new": 2}}
    assert changed.details["overrides"] == {"contact.third_party_unanswered_per_day": {"old": 2, "new": None},
                                            "tracing.raw_retention_days": {"old": None, "new": 1000}}


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"])
def test_the_audit_trail_is_append_only_in_the_database(session, statement):
    session.add(AuditEvent(actor_id=None, action="test.event", subject_type="test", subject_id="1", details={}))
    session.flush()
    nested = session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    nested.rollback()
    assert audits(session, "test.event")


@pytest.mark.parametrize("password, problem", [
    ("short-pw-9", "at least 12 characters"),
    ("password1234", "too common"),
    ("qwertyuiop12", "too common"),
    ("fieldtrace-demo", "published"),
])
def test_weak_passwords_are_refused_naming_the_field(client, as_role, password, problem):
    _, headers = as_role(Role.ADMIN)
    response = client.post("/api/v1/users", json={"username": "weakling", "password": password,
                                                  "role": "collector", "name": "W"}, headers=headers)
    assert response.status_code == 422
    assert problem in response.json["error"]["fields"]["password"]


def test_cli_reads_the_password_from_stdin_under_the_same_policy(app, session):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-user", "cli-weak", "--role", "admin"], input="password1234\n")
    assert weak.exit_code != 0 and "too common" in weak.output
    made = runner.invoke(args=["create-user", "cli-admin", "--role", "admin"], input=STRONG + "\n")
    assert made.exit_code == 0, made.output
    assert session.scalar(sa.select(User).where(User.username == "cli-admin")).role is Role.ADMIN
    flagged = runner.invoke(args=["create-user", "cli-flag", "--role", "admin", "--password", "short"])
    assert flagged.exit_code != 0 and "at least 12 characters" in flagged.output


def test_home_is_only_for_the_user_and_an_admin_editing_them(client, as_role, create_user, auth_headers, session):
    collector = create_user(Role.COLLECTOR, home={"lat": 30.7, "lon": 104.1})
    for role in (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN):
        _, headers = as_role(role)
        listed = client.get("/api/v1/users", headers=headers).json["items"]
        assert listed and all(u["home"] is None for u in listed), role
    _, supervisor = as_role(Role.SUPERVISOR)
    assert client.get(f"/api/v1/users/{collector.id}", headers=supervisor).json["home"] is None
    assert client.get("/api/v1/me", headers=auth_headers(collector)).json["home"] == {"lat": 30.7, "lon": 104.1}
    admin, headers = as_role(Role.ADMIN)
    assert client.get(f"/api/v1/users/{collector.id}", headers=headers).json["home"] == {"lat": 30.7, "lon": 104.1}
    [read] = audits(session, "user.home_read")
    assert (read.actor_id, read.subject_id) == (admin.id, str(collector.id))
    # An admin changing something else gets no home back (that would be an unaudited read)...
    patched = client.patch(f"/api/v1/users/{collector.id}", json={"max_visits_per_day": 9}, headers=headers).json
    assert patched["home"] is None and len(audits(session, "user.home_read")) == 1
    # ...while setting it echoes what they sent.
    moved = client.patch(f"/api/v1/users/{collector.id}", json={"home": {"lat": 30.6, "lon": 104.0}},
                         headers=headers).json
    assert moved["home"] == {"lat": 30.6, "lon": 104.0}


def test_login_with_redis_unreachable_is_refused_as_503_never_an_uncounted_guess(app, client, create_user):
    """The failure counters live in Redis: without them a login is refused (fail closed), not a 500."""
    from limits import RateLimitItemPerSecond
    from limits.storage import RedisStorage
    from limits.strategies import MovingWindowRateLimiter

    user = create_user(Role.DISPATCHER, password=STRONG)
    saved = app.extensions.get("login_throttle")
    dead = RedisStorage("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)  # nothing listens on port 1
    app.extensions["login_throttle"] = (MovingWindowRateLimiter(dead), RateLimitItemPerSecond(10, 900))
    try:
        refused = login(client, user.username, STRONG, address="10.9.0.1")
    finally:
        app.extensions["login_throttle"] = saved
    assert refused.status_code == 503
    assert refused.json["error"]["code"] == "service_unavailable" and refused.headers["Retry-After"]
    assert login(client, user.username, STRONG, address="10.9.0.1").status_code == 200
