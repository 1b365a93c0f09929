"""POST /routes/plan on small days: every rule the planner must keep, checked on the stored plan."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend.auth.models import Role
from backend.planning.models import Route
from backend.timeutil import utcnow
from backend.visits.models import HazardFlag, HazardKind, Visit, VisitStatus
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

NEAR = [(30.6571 + dy, 104.0658 + dx) for dy, dx in
        ((0.004, 0.0), (0.0, 0.006), (-0.005, 0.002), (0.007, -0.004), (-0.002, -0.007), (0.01, 0.01))]


def _visits(make_visit, n, **fields):
    return [make_visit(lat=lat, lon=lon, **fields) for lat, lon in NEAR[:n]]


def _reasons(response):
    return {u["visit_id"]: u["reason"] for u in response.json["unassigned"]}


def _stops(response):
    return {s["visit_id"]: (r["collector_id"], s) for r in response.json["routes"] for s in r["stops"]}


def test_plan_assigns_orders_and_stores(plan, create_user, make_visit, session):
    first, second = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR)
    visits = _visits(make_visit, 6)
    response = plan(collector_ids=[first.id, second.id])
    assert response.status_code == 200
    assert set(_stops(response)) == {v.id for v in visits}
    assert assert_plan_sound(session, plan_day()) == 6
    route = response.json["routes"][0]
    assert {"id", "collector_id", "date", "stops", "distance_m", "duration_s"} <= set(route)
    assert {"sequence", "visit_id", "eta", "lat", "lon"} <= set(route["stops"][0])
    assert session.get(Visit, visits[0].id).status is VisitStatus.ASSIGNED


def test_max_visits_per_day(plan, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR, max_visits_per_day=3)
    _visits(make_visit, 6)
    response = plan(collector_ids=[user.id])
    assert len(_stops(response)) == 3
    assert sorted(_reasons(response).values()) == ["no_capacity"] * 3
    assert assert_plan_sound(session, plan_day()) == 3


def test_skills(plan, create_user, make_visit, session):
    plain, lawyer = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR, skills=["legal"])
    legal = make_visit(required_skills=["legal"])
    response = plan(collector_ids=[plain.id, lawyer.id])
    assert _stops(response)[legal.id][0] == lawyer.id
    assert_plan_sound(session, plan_day())
    only_plain = plan(collector_ids=[plain.id], visit_ids=[legal.id])
    assert _reasons(only_plain) == {legal.id: "no_collector_with_skills"}


def test_two_person_visits_and_hazard_flagged_addresses(plan, create_user, make_visit, session):
    solo, crew = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR, team_size=2)
    flagged_request = make_visit(lat=NEAR[0][0], lon=NEAR[0][1])
    flagged_request.requires_two = True
    flagged_later = make_visit(lat=NEAR[1][0], lon=NEAR[1][1])
    session.add(HazardFlag(address_id=flagged_later.address_id, kind=HazardKind.HOSTILE, note="", requires_two=True,
                           created_at=utcnow(), expires_at=utcnow() + timedelta(days=30)))
    session.flush()
    response = plan(collector_ids=[solo.id, crew.id])
    stops = _stops(response)
    assert stops[flagged_request.id][0] == crew.id
    assert stops[flagged_later.id][0] == crew.id
    assert_plan_sound(session, plan_day())
    solo_only = plan(collector_ids=[solo.id], visit_ids=[flagged_request.id, flagged_later.id])
    assert set(_reasons(solo_only).values()) == {"needs_two_person_crew"}


def test_visit_time_window(plan, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR)
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime.combine(plan_day(), datetime.min.time(), zone) + timedelta(hours=15)
    windowed = make_visit(window_start=start, window_end=start + timedelta(hours=1))
    _visits(make_visit, 4)
    response = plan(collector_ids=[user.id])
    eta = datetime.fromisoformat(_stops(response)[windowed.id][1]["eta"])
    assert start <= eta <= start + timedelta(hours=1)
    assert_plan_sound(session, plan_day())


def test_quiet_hours_on_a_long_shift(plan, create_user, make_visit, session):
    """A collector working 05:00-23:30 still makes no stop before 08:00 or after 22:00 debtor time."""
    user = create_user(Role.COLLECTOR, shift_start="05:00", shift_end="23:30", max_visits_per_day=20)
    visits = _visits(make_visit, 6)
    response = plan(collector_ids=[user.id])
    assert len(_stops(response)) == len(visits)
    assert assert_plan_sound(session, plan_day()) == 6  # checks every eta against the quiet hours


def test_night_window_and_debtor_far_east_are_unplannable(plan, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR)
    zone = ZoneInfo("Asia/Shanghai")
    night = datetime.combine(plan_day(), datetime.min.time(), zone) + timedelta(hours=22, minutes=30)
    at_night = make_visit(window_start=night, window_end=night + timedelta(hours=1))
    # A debtor whose lawful hours never meet the collector's shift (08:00-22:00 in New York).
    elsewhere = make_visit(case_fields={"timezone": "America/New_York"})
    reasons = _reasons(plan(collector_ids=[user.id]))
    assert reasons[at_night.id] == "no_lawful_window_on_date"
    assert reasons[elsewhere.id] == "outside_every_shift_window"


def test_shift_window(plan, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR, shift_start="09:00", shift_end="10:30")
    _visits(make_visit, 6)
    response = plan(collector_ids=[user.id])
    assert 1 <= len(_stops(response)) < 6
    assert_plan_sound(session, plan_day())


def test_service_time_from_the_portfolio_policy(plan, create_user, create_portfolio, create_case, make_visit,
                                                session):
    user = create_user(Role.COLLECTOR)
    slow = create_portfolio(overrides={"routing.service_minutes": 45})
    visit = make_visit(case=create_case(portfolio=slow))
    stop = _stops(plan(collector_ids=[user.id]))[visit.id][1]
    assert (datetime.fromisoformat(stop["departure"]) - datetime.fromisoformat(stop["eta"])) == timedelta(minutes=45)
    assert_plan_sound(session, plan_day())


def test_priority_decides_who_gets_the_last_slot(plan, create_user, make_visit):
    user = create_user(Role.COLLECTOR, max_visits_per_day=1)
    low = make_visit(priority=1, lat=NEAR[0][0], lon=NEAR[0][1])
    high = make_visit(priority=5, lat=NEAR[1][0], lon=NEAR[1][1])
    response = plan(collector_ids=[user.id])
    assert set(_stops(response)) == {high.id}
    assert _reasons(response) == {low.id: "no_capacity"}


def test_replan_replaces_routes_and_hands_back_dropped_visits(plan, create_user, make_visit, session):
    user = create_user(Role.COLLECTOR, max_visits_per_day=4)
    _visits(make_visit, 4)
    first = plan(collector_ids=[user.id])
    assert len(_stops(first)) == 4
    user.max_visits_per_day = 2
    session.flush()
    second = plan(collector_ids=[user.id])
    assert len(_stops(second)) == 2
    routes = session.scalars(sa.select(Route).where(Route.collector_id == user.id)).all()
    assert [r.id for r in routes] == [second.json["routes"][0]["id"]] != [first.json["routes"][0]["id"]]
    dropped = list(_reasons(second))
    assert len(dropped) == 2
    for visit_id in dropped:
        visit = session.get(Visit, visit_id)
        assert (visit.status, visit.collector_id, visit.scheduled_date) == (VisitStatus.SCHEDULED, None, None)
    assert_plan_sound(session, plan_day())


def test_replan_keeps_done_and_in_progress_stops_fixed(plan, create_user, make_visit, session):
    user, other = create_user(Role.COLLECTOR), create_user(Role.COLLECTOR)
    done = make_visit(VisitStatus.DONE, collector=user, lat=NEAR[0][0], lon=NEAR[0][1])
    done.finished_at = utcnow() - timedelta(hours=1)
    under_way = make_visit(VisitStatus.IN_PROGRESS, collector=user, lat=NEAR[5][0], lon=NEAR[5][1])
    under_way.started_at = utcnow()
    session.flush()
    open_visits = [make_visit(lat=lat, lon=lon) for lat, lon in NEAR[1:5]]
    response = plan(collector_ids=[user.id, other.id])
    mine = next(r for r in response.json["routes"] if r["collector_id"] == user.id)
    assert [s["visit_id"] for s in mine["stops"][:2]] == [done.id, under_way.id]
    assert [s["fixed"] for s in mine["stops"][:2]] == [True, True]
    assert {done.id, under_way.id}.isdisjoint(_reasons(response))
    session.expire_all()
    assert session.get(Visit, done.id).status is VisitStatus.DONE
    assert session.get(Visit, under_way.id).status is VisitStatus.IN_PROGRESS
    assert set(_stops(response)) == {done.id, under_way.id, *(v.id for v in open_visits)}
    assert_plan_sound(session, plan_day())


def test_named_visits_not_open_come_back_with_their_status(plan, create_user, make_visit):
    user = create_user(Role.COLLECTOR)
    waiting, finished, fine = make_visit(VisitStatus.NEEDS_APPROVAL), make_visit(VisitStatus.CANCELLED), make_visit()
    response = plan(collector_ids=[user.id], visit_ids=[waiting.id, finished.id, fine.id])
    assert _reasons(response) == {waiting.id: "needs_approval", finished.id: "cancelled"}
    assert set(_stops(response)) == {fine.id}


def test_collector_without_a_start_is_skipped(plan, create_user, make_visit):
    homeless = create_user(Role.COLLECTOR, home=None)
    visit = make_visit()
    response = plan(collector_ids=[homeless.id])
    assert response.json["skipped_collectors"] == [{"collector_id": homeless.id, "reason": "no_start_location"}]
    assert _reasons(response) == {visit.id: "no_collectors"}


def test_replan_today_puts_no_stop_in_the_past(plan, create_user, make_visit, session):
    from tests.visits.conftest import daytime_zone

    zone = daytime_zone(12)  # it is about noon there now
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    user = create_user(Role.COLLECTOR, timezone=zone, shift_start="08:00", shift_end="21:00")
    for lat, lon in NEAR[:4]:
        make_visit(lat=lat, lon=lon, case_fields={"timezone": zone})
    before = utcnow()
    response = plan(day=today, collector_ids=[user.id])
    etas = [datetime.fromisoformat(s["eta"]) for r in response.json["routes"] for s in r["stops"]]
    assert len(etas) == 4
    assert min(etas) >= before
    assert_plan_sound(session, today)
