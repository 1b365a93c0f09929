"""Geocoding fixtures: local Nominatim/AMap-like servers wired into the app's configuration."""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from backend.geocoding.types import normalise_address
from tests.geo.servers import AmapLike, NominatimLike
from tests.planning.conftest import plan  # noqa: F401  (shared fixture)
from tests.visits.conftest import make_visit, outcome_body  # noqa: F401  (shared fixtures)

KEHUA = "四川省成都市武侯区科华北路65号3栋2单元"
KEHUA_WGS84 = (30.6318, 104.0763)
AMAP_KEY = "test-amap-key"


@pytest.fixture
def job_ids(session):
    """RQ job ids (bg-<row id>) are not namespaced per test database: start ours where no run has been."""
    session.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})


@pytest.fixture
def no_geocoder(app, monkeypatch):
    monkeypatch.setitem(app.config, "GEOCODER", "")


@pytest.fixture
def nominatim(app, monkeypatch):
    with NominatimLike({normalise_address(KEHUA): (*KEHUA_WGS84, 30)}) as server:
        monkeypatch.setitem(app.config, "GEOCODER", "nominatim")
        monkeypatch.setitem(app.config, "NOMINATIM_URL", server.url)
        monkeypatch.setitem(app.config, "GEOCODER_RATE_PER_S", "50")
        yield server


@pytest.fixture
def amap(app, monkeypatch):
    with AmapLike(AMAP_KEY, {normalise_address(KEHUA): KEHUA_WGS84}) as server:
        monkeypatch.setitem(app.config, "GEOCODER", "amap")
        monkeypatch.setitem(app.config, "AMAP_URL", server.url)
        monkeypatch.setitem(app.config, "AMAP_KEY", AMAP_KEY)
        monkeypatch.setitem(app.config, "GEOCODER_RATE_PER_S", "50")
        yield server


def case_row(ref: str, text: str = KEHUA, **address) -> dict:
    """An import row with a text-only home address (or with the given lat/lon/coord_sys)."""
    return {"external_ref": ref, "debtor_name": "张三", "amount_due": "8000.00", "currency": "CNY",
            "days_past_due": 40, "addresses": [{"kind": "home", "text": text, **address}],
            "phones": [{"number": "13800138000"}]}
