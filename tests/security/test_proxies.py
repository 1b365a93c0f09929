"""The client's address behind reverse proxies: X-Forwarded-For is believed only from TRUSTED_PROXIES proxies
(it decides the login and acknowledgement-code throttles' per-address keys and the audit's address)."""
from __future__ import annotations

import pytest
from flask import request

from backend import create_app
from backend.config import InvalidConfiguration


def whoami_app(app, **settings):
    """An app like the test app, with these settings and a route answering the client address it sees."""
    other = create_app({**{k: app.config[k] for k in ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL",
                                                       "QUEUE_PREFIX", "SECRET_KEY")}, **settings})
    other.add_url_rule("/whoami", "whoami", lambda: request.remote_addr)
    return other.test_client()


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(app):
    client = whoami_app(app)
    seen = client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.5"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert seen.text == "10.0.0.9"  # anyone can send the header: believing it would let a guesser pick its key


def test_behind_one_trusted_proxy_the_client_is_the_address_it_forwarded(app):
    client = whoami_app(app, TRUSTED_PROXIES="1")
    seen = client.get("/whoami", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.5"},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert seen.text == "203.0.113.5"  # the one address our proxy appended, not what the client wrote before it


@pytest.mark.parametrize("value", ["yes", "-1", "99"])
def test_a_bad_trusted_proxies_setting_stops_the_app_naming_it(app, value):
    with pytest.raises(InvalidConfiguration, match="TRUSTED_PROXIES"):
        whoami_app(app, TRUSTED_PROXIES=value)
