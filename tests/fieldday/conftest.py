"""Field-day fixtures: the visits factories, a dispatcher and a supervisor, routes stored by hand."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backend.geo import make_point
from backend.planning.models import Route, RouteStop
from backend.timeutil import utcnow
from backend.visits.models import VisitAssignment
from tests.visits.conftest import make_visit, new_key, outcome_body, plan_day  # noqa: F401  (shared)


@pytest.fixture
def store_route(session):
    """A stored route for a collector and day through the given visits, in order (as a plan leaves it)."""

    def store(holder, day, visits, *, distance_m=5000):
        start = utcnow() + timedelta(days=1)
        route = Route(collector_id=holder.id, plan_date=day, solver="test", distance_m=distance_m,
                      duration_s=3600)
        route.stops = [RouteStop(visit_id=v.id, sequence=k, eta=start + timedelta(minutes=30 * k),
                                 departure=start + timedelta(minutes=30 * k + 20),
                                 location=make_point(30.6571 + k / 1000, 104.0658), fixed=False)
                       for k, v in enumerate(visits, start=1)]
        session.add(route)
        session.flush()
        return route

    return store


def assigned_hours_ago(session, visits, hours: float = 3) -> None:
    """Date the visits' assignment history back, so reports made in the last hours are not backdated."""
    session.execute(sa.update(VisitAssignment).where(VisitAssignment.visit_id.in_([v.id for v in visits]))
                    .values(at=utcnow() - timedelta(hours=hours)))


def post_outcome(client, visit, body, headers, key=None):
    return client.post(f"/api/v1/visits/{visit.id}/outcome", json=body,
                       headers={**headers, "Idempotency-Key": key or new_key()})
