"""Planning fixtures: fast solver budgets, visit factories, and a checker for stored plans."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from backend.auth.models import User
from backend.planning.models import Route, RouteStop
from backend.policy.defaults import DEFAULTS
from backend.policy.hours import is_quiet_time
from backend.policy.service import get_policy
from backend.visits.hazards import active_hazards
from backend.visits.models import Visit, VisitStatus
from tests.visits.conftest import make_visit, outcome_body, plan_day  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def fast_solver(monkeypatch):
    """Small instances need a fraction of a second; keep the suite fast."""
    monkeypatch.setitem(DEFAULTS, "routing.sync_time_limit_s", 0.3)
    monkeypatch.setitem(DEFAULTS, "routing.time_limit_s", 0.3)


@pytest.fixture
def plan(client, as_role):
    """POST /routes/plan as a dispatcher; returns the response."""
    _, headers = as_role("dispatcher")

    def run(day=None, **body):
        return client.post("/api/v1/routes/plan", json={"date": (day or plan_day()).isoformat(), **body},
                           headers=headers)

    return run


def _local(moment: datetime, zone: str):
    return moment.astimezone(ZoneInfo(zone))


def assert_plan_sound(session, day) -> int:
    """Check every stored route of the day against every rule the planner must keep; return stops."""
    session.expire_all()
    total = 0
    for route in session.scalars(sa.select(Route).where(Route.plan_date == day)):
        user = session.get(User, route.collector_id)
        stops = session.scalars(sa.select(RouteStop).where(RouteStop.route_id == route.id)
                                .order_by(RouteStop.sequence)).all()
        total += len(stops)
        assert [s.sequence for s in stops] == list(range(1, len(stops) + 1))
        assert len(stops) <= user.max_visits_per_day, "max visits per day"
        shift_start = datetime.combine(day, user.shift_start, ZoneInfo(user.timezone))
        shift_end = datetime.combine(day, user.shift_end, ZoneInfo(user.timezone))
        assert route.duration_s <= (shift_end - shift_start).total_seconds(), "shift length"
        for before, after in zip(stops, stops[1:], strict=False):
            assert after.eta >= before.departure, "stops overlap"
        hazards = active_hazards(session, [session.get(Visit, s.visit_id).address_id for s in stops])
        for stop in stops:
            visit = session.get(Visit, stop.visit_id)
            policy = get_policy(session, visit.case.portfolio_id)
            if stop.fixed:
                assert visit.status in (VisitStatus.DONE, VisitStatus.FAILED, VisitStatus.IN_PROGRESS)
                continue
            assert (visit.status, visit.collector_id, visit.scheduled_date) == (VisitStatus.ASSIGNED, user.id, day)
            assert shift_start <= stop.eta and stop.departure <= shift_end, "shift window"
            assert stop.departure - stop.eta == timedelta(minutes=policy["routing.service_minutes"]), "service"
            assert not is_quiet_time(stop.eta, visit.case.timezone, policy), "quiet hours (arrival)"
            assert not is_quiet_time(stop.departure - timedelta(seconds=1), visit.case.timezone, policy), "quiet"
            if visit.window_start:
                assert visit.window_start <= stop.eta <= visit.window_end, "visit window"
            assert set(visit.required_skills) <= set(user.skills), "skills"
            two = visit.requires_two or any(f.requires_two for f in hazards.get(visit.address_id, []))
            assert not two or user.team_size >= 2, "two-person visit"
    return total


@contextmanager
def statements(session):
    """The SELECT statements sent on the test's connection meanwhile (writes a flush left pending not counted)."""
    sent: list[str] = []

    def record(connection, cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    engine = session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
