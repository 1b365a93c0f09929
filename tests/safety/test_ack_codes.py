"""Acknowledging with a message's short code: wrong codes are counted per address and (with a higher limit)
per alert, then every code there is refused (429) until the window passes; the console and the signed link are
not throttled."""
from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from backend.audit.models import AuditEvent
from backend.auth.models import Role
from backend.notify.models import Notification
from backend.safety.alerts import raise_sos
from backend.safety.notices import ack_token
from backend.throttle import address_key
from tests.safety.conftest import T0

WRONG = "ZZZZZZ"  # a code of the right shape that no message of these alerts carries


@pytest.fixture
def sos(session, create_user):
    """Raise an SOS that texts one dispatcher; return (alert, the dispatcher, the code they were sent)."""
    dispatcher = create_user(Role.DISPATCHER, phone="+8613900000031")
    collector = create_user(Role.COLLECTOR, phone="+8613800000031")

    def raise_one():
        alert = raise_sos(session, collector=collector, lat=30.65, lon=104.06, recorded_at=T0, now=T0)
        session.flush()
        code = session.scalar(sa.select(Notification.ack_code).where(
            Notification.alert_id == alert.id, Notification.user_id == dispatcher.id,
            Notification.ack_code.is_not(None)).limit(1))
        assert code and code != WRONG
        return alert, dispatcher, code

    return raise_one


def ack(client, alert_id, code, address="10.7.0.1", **kwargs):
    return client.post(f"/api/v1/safety/alerts/{alert_id}/ack", json={"code": code},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


def assert_throttled(response, window_s):
    assert response.status_code == 429, response.json
    error = response.json["error"]
    assert error["code"] == "too_many_attempts" and "code" in error["fields"]
    assert error["message"].startswith("code:")
    assert 0 < int(response.headers["Retry-After"]) <= window_s


def test_ten_wrong_codes_from_an_address_then_even_the_right_one_is_429_there_while_the_console_acknowledges(
        client, sos, auth_headers):
    alert, dispatcher, code = sos()
    for _ in range(10):
        wrong = ack(client, alert.id, WRONG, address="10.7.1.1")
        assert wrong.status_code == 422 and wrong.json["error"]["fields"] == {"code": "unknown code"}
    assert_throttled(ack(client, alert.id, code, address="10.7.1.1"), 15 * 60)
    assert_throttled(ack(client, alert.id, WRONG, address="10.7.1.1"), 15 * 60)
    console = client.post(f"/api/v1/safety/alerts/{alert.id}/ack", headers=auth_headers(dispatcher),
                          environ_base={"REMOTE_ADDR": "10.7.1.1"})
    assert console.status_code == 200, console.json
    assert (console.json["state"], console.json["acknowledged_by_id"]) == ("acknowledged", dispatcher.id)


def test_a_strangers_wrong_codes_do_not_stop_the_recipient_acknowledging_from_elsewhere(client, sos):
    alert, dispatcher, code = sos()
    for _ in range(12):
        ack(client, alert.id, WRONG, address="10.7.4.1")
    response = ack(client, alert.id, code, address="10.7.4.2")
    assert response.status_code == 200, response.json
    assert response.json["acknowledged_by_id"] == dispatcher.id


@contextmanager
def throttle_of(app, name: str, failures: int, window_s: int):
    """Throttle `name` at `failures` per `window_s` seconds while inside, on this run's Redis prefix."""
    slot = f"{name}_throttle"
    saved = app.extensions.get(slot)
    storage = RedisStorage(app.config["REDIS_URL"], key_prefix=f"{app.config['QUEUE_PREFIX']}{name}-{failures}-{window_s}")
    app.extensions[slot] = (MovingWindowRateLimiter(storage), RateLimitItemPerSecond(failures, window_s))
    try:
        yield
    finally:
        storage.reset()
        if saved is None:
            app.extensions.pop(slot)
        else:
            app.extensions[slot] = saved


@pytest.fixture
def five_per_alert(app):
    with throttle_of(app, "ack_code_alert", 5, 900):
        yield


def test_wrong_codes_for_an_alert_from_many_addresses_then_every_code_is_429_for_it(client, sos, five_per_alert):
    alert, _, code = sos()
    other, _, other_code = sos()
    for i in range(5):  # one each from five addresses: no address reaches its own limit
        assert ack(client, alert.id, WRONG, address=f"10.7.5.{i}").status_code == 422
    assert_throttled(ack(client, alert.id, code, address="10.7.5.99"), 15 * 60)
    assert ack(client, other.id, other_code, address="10.7.5.99").status_code == 200  # another alert is not


def test_a_right_code_before_the_limit_acknowledges(client, sos):
    alert, dispatcher, code = sos()
    for _ in range(9):
        assert ack(client, alert.id, WRONG).status_code == 422
    response = ack(client, alert.id, code.lower())
    assert response.status_code == 200, response.json
    assert response.json["acknowledged_by_id"] == dispatcher.id


def test_the_signed_link_is_not_throttled(client, sos):
    alert, dispatcher, _ = sos()
    for _ in range(10):
        ack(client, alert.id, WRONG)
    response = client.post(f"/api/v1/safety/alerts/{alert.id}/ack?token={ack_token(alert.id, dispatcher.id)}",
                           environ_base={"REMOTE_ADDR": "10.7.0.1"})
    assert response.status_code == 200, response.json


def test_ten_wrong_codes_from_an_address_across_alerts_then_429_there_only(client, sos):
    alerts = [sos() for _ in range(3)]
    for i in range(10):  # spread over two alerts: neither alert reaches its own limit
        assert ack(client, alerts[i % 2][0].id, WRONG, address="10.7.2.1").status_code == 422
    alert, _, code = alerts[2]
    assert_throttled(ack(client, alert.id, code, address="10.7.2.1"), 15 * 60)
    assert ack(client, alert.id, code, address="10.7.2.2").status_code == 200


def test_wrong_codes_are_audited_with_the_address(client, sos, session):
    alert, _, code = sos()
    ack(client, alert.id, WRONG, address="10.7.3.4")
    ack(client, alert.id, code, address="10.7.3.5")
    [failed] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "safety.ack_code_failed")).all()
    assert (failed.actor_id, failed.subject_type, failed.subject_id) == (None, "safety_alert", str(alert.id))
    assert failed.details == {"address": "10.7.3.4"}


def test_when_the_window_passes_the_right_code_acknowledges(client, sos, app):
    with throttle_of(app, "ack_code", 3, 2):  # 3 failures per 2 s
        alert, dispatcher, code = sos()
        for _ in range(3):
            assert ack(client, alert.id, WRONG).status_code == 422
        refused = ack(client, alert.id, code)
        assert_throttled(refused, 2)
        time.sleep(int(refused.headers["Retry-After"]) + 0.1)
        response = ack(client, alert.id, code)
        assert response.status_code == 200, response.json
        assert response.json["acknowledged_by_id"] == dispatcher.id


def test_when_both_limits_are_used_up_retry_after_waits_for_the_later_one(client, sos, app):
    with throttle_of(app, "ack_code", 3, 2), throttle_of(app, "ack_code_alert", 3, 600):
        alert, _, code = sos()
        for _ in range(3):  # from one address: its 2 s limit and the alert's 10 min limit are both used up
            assert ack(client, alert.id, WRONG, address="10.7.6.1").status_code == 422
        refused = ack(client, alert.id, code, address="10.7.6.1")
        assert_throttled(refused, 600)
        assert int(refused.headers["Retry-After"]) > 2  # the address's wait alone would send it back too soon


def test_addresses_of_one_ipv6_subnet_share_a_limit(client, sos):
    alert, _, code = sos()
    for i in range(10):  # one subscriber's /64: a new address for every guess
        assert ack(client, alert.id, WRONG, address=f"2001:db8:7:1::{i + 1:x}").status_code == 422
    assert_throttled(ack(client, alert.id, code, address="2001:db8:7:1::ffff"), 15 * 60)
    assert ack(client, alert.id, code, address="2001:db8:7:2::1").status_code == 200  # another subscriber


@pytest.mark.parametrize("address, key", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:7:1:aaaa:bbbb:cccc:dddd", "2001:db8:7:1::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),  # an IPv4 client on a dual-stack socket is that IPv4 address
    (None, "unknown"),
])
def test_a_clients_address_key(address, key):
    assert address_key(address) == ("address", key)
