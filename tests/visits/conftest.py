"""Visit factories: visits in any status, collectors, outcome bodies at lawful hours."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from backend.visits.requests import request_visit
from tests.factories import CENTRE


def daytime_zone(hour: int = 14) -> str:
    """An IANA zone where it is now about `hour` o'clock: outcome times then fall in lawful hours."""
    now = datetime.now(UTC)
    for offset in range(-12, 15):
        name = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}"
        if now.astimezone(ZoneInfo(name)).hour == hour:
            return name
    raise AssertionError("no zone at that hour")


def plan_day():
    """A day safely in the future in every timezone."""
    return (utcnow() + timedelta(days=2)).date()


def new_key() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def make_visit(session, create_case):
    """Create a visit (through request_visit), then put it in the status asked for."""

    def make(status: VisitStatus = VisitStatus.REQUESTED, *, collector=None, day=None, case=None,
             lat=CENTRE[0], lon=CENTRE[1], case_fields=None, **fields):
        if case is None:
            case = create_case(lat=lat, lon=lon)
            for key, value in (case_fields or {}).items():  # the factory fixes timezone and amount
                setattr(case, key, value)
        visit = request_visit(session, case_id=case.id, kind=fields.pop("kind", "confirm"), **fields)
        if collector is not None:
            visit.collector_id, visit.scheduled_date = collector.id, day or plan_day()
        visit.status = status
        session.flush()
        return visit

    return make



@pytest.fixture
def outcome_body():
    """An outcome body recorded now, at the visit address, with any overrides."""

    def body(outcome="met_debtor", *, lat=CENTRE[0], lon=CENTRE[1], recorded_at=None, **fields):
        return {"outcome": outcome, "recorded_at": (recorded_at or utcnow()).isoformat(), "lat": lat, "lon": lon,
                "accuracy_m": 10, **fields}

    return body
