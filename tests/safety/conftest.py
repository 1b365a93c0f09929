"""Safety factories: check-ins at a fixed past moment, visits assigned to a collector, sweeps."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.visits.models import VisitStatus
from backend.visits.requests import request_visit

# A Wednesday morning in Chengdu (08:55 local); every test drives time from here.
T0 = datetime(2026, 6, 10, 0, 55, tzinfo=UTC)
CHECKINS = "/api/v1/safety/checkins"


def offset(lat: float, lon: float, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """A point north_m metres north and east_m metres east of (lat, lon) (close enough at city scale)."""
    import math

    return lat + north_m / 111_320, lon + east_m / (111_320 * math.cos(math.radians(lat)))





@pytest.fixture
def checkin(client):
    """Post a check-in for headers; at is minutes after T0 (or a datetime)."""

    def post(headers, kind, at=0, lat=30.6571, lon=104.0658, expect=201, **fields):
        moment = at if isinstance(at, datetime) else T0 + timedelta(minutes=at)
        body = {"kind": kind, "lat": lat, "lon": lon, "recorded_at": moment.isoformat(), **fields}
        response = client.post(CHECKINS, json=body, headers=headers)
        assert response.status_code == expect, response.json
        return response.json

    return post


@pytest.fixture
def assigned_visit(session, create_case):
    """A visit assigned to a collector for a day, at a case's (new or given) address."""

    def create(collector, day: date, case=None, **case_fields):
        case = case or create_case(**case_fields)
        visit = request_visit(session, case_id=case.id, kind="confirm", reason="test")
        visit.collector_id, visit.scheduled_date, visit.status = collector.id, day, VisitStatus.ASSIGNED
        session.flush()
        return visit

    return create
