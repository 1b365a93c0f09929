"""A declared lodging is where the day starts, and it never appears in any route payload."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.auth.models import Role
from backend.safety.lodgings import register_lodging
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

LODGING = (30.81234, 104.21234)  # ~20 km from the visits


def test_route_starts_at_the_lodging_without_showing_it(client, plan, create_user, make_visit, auth_headers,
                                                        as_role, session):
    user = create_user(Role.COLLECTOR)
    zone = ZoneInfo(user.timezone)
    night = plan_day() - timedelta(days=1)
    register_lodging(session, collector=user, name="Hotel", address="somewhere", lat=LODGING[0], lon=LODGING[1],
                     check_in=datetime.combine(night, time(20), zone),
                     check_out=datetime.combine(plan_day(), time(8), zone))
    make_visit(lat=30.66, lon=104.07)
    make_visit(lat=30.662, lon=104.072)
    response = plan(collector_ids=[user.id])
    route = response.json["routes"][0]
    # The collector's own day starts at the lodging, ~20 km out: their first ETA carries the drive in.
    own = client.get(f"/api/v1/routes/{route['id']}", headers=auth_headers(user)).json
    shared_first = datetime.fromisoformat(route["stops"][0]["eta"])
    assert datetime.fromisoformat(own["stops"][0]["eta"]) - shared_first > timedelta(minutes=20)
    assert route["distance_m"] < 2_000  # others' totals start at the first stop
    assert_plan_sound(session, plan_day())
    _, dispatcher = as_role(Role.DISPATCHER)
    payloads = [response.json,
                client.get(f"/api/v1/routes/{route['id']}", headers=dispatcher).json,
                client.get(f"/api/v1/routes/{route['id']}.geojson", headers=dispatcher).json,
                client.get(f"/api/v1/routes?date={plan_day().isoformat()}", headers=dispatcher).json,
                client.get(f"/api/v1/me/route?date={plan_day().isoformat()}", headers=auth_headers(user)).json]
    for payload in payloads:
        text = json.dumps(payload)
        assert "30.812" not in text and "104.212" not in text and "Hotel" not in text
