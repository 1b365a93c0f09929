"""Staff notices: new visit requests reach the dispatchers, a plan's outcome reaches its starter."""
from __future__ import annotations

from datetime import UTC, datetime, time

import sqlalchemy as sa

from backend.auth.models import Role
from backend.jobs.models import JobStatus
from backend.jobs.service import _finish, create_job
from backend.notify.models import Notification, NotificationPreference
from backend.visits.notices import area_of
from backend.visits.requests import request_visit


def _notices(session, **where):
    session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    for key, value in where.items():
        query = query.where(getattr(Notification, key) == value)
    return session.scalars(query).all()


def test_a_new_visit_request_notifies_every_dispatcher_on_their_channels(session, create_user, create_case):
    first = create_user(Role.DISPATCHER, phone="+8613900000021")
    second = create_user(Role.DISPATCHER, phone="+8613900000022")
    session.add(NotificationPreference(user_id=second.id, channels=["email"], email="d2@example.cn",
                                       locale="en", quiet_start=time(0, 0), quiet_end=time(23, 59)))
    create_user(Role.SUPERVISOR, phone="+8613900000023")
    case = create_case()
    visit = request_visit(session, case_id=case.id, kind="confirm", reason="test")
    rows = _notices(session, visit_id=visit.id)
    assert {(r.user_id, r.channel.value) for r in rows} == {(first.id, "push"), (first.id, "sms"),
                                                            (second.id, "email")}
    text = next(r.text for r in rows if r.user_id == first.id)
    assert f"#{visit.id}" in text and "成都市锦江区" in text and "号" not in text.split("（")[1]
    # The second dispatcher's quiet period holds their notice (staff notices honour it).
    assert next(r for r in rows if r.user_id == second.id).not_before > next(
        r for r in rows if r.user_id == first.id).not_before


def _request_in(session, create_case, adcode):
    case = create_case()
    case.addresses[0].adcode = adcode
    session.flush()
    return request_visit(session, case_id=case.id, kind="confirm", reason="test")


def test_a_new_request_reaches_the_dispatchers_of_its_district(session, create_user, create_case):
    wuhou = create_user(Role.DISPATCHER, areas=["510107"])
    chengdu = create_user(Role.DISPATCHER, areas=["5101"])          # the whole city
    jinjiang = create_user(Role.DISPATCHER, areas=["510104"])
    visit = _request_in(session, create_case, "510107")
    told = {r.user_id for r in _notices(session, visit_id=visit.id)}
    assert told == {wuhou.id, chengdu.id}
    assert jinjiang.id not in told


def test_a_request_nobody_covers_reaches_every_dispatcher(session, create_user, create_case):
    wuhou = create_user(Role.DISPATCHER, areas=["510107"])
    jinjiang = create_user(Role.DISPATCHER, areas=["510104"])
    for adcode in ("440305", None):  # another city; an address not located yet
        visit = _request_in(session, create_case, adcode)
        assert {r.user_id for r in _notices(session, visit_id=visit.id)} == {wuhou.id, jinjiang.id}


def test_areas_are_codes(client, as_role):
    _, admin = as_role(Role.ADMIN)
    response = client.post("/api/v1/users", json={
        "username": "d-areas", "password": "quiet-ferry-lantern-42", "role": "dispatcher", "name": "D",
        "areas": ["Wuhou"]}, headers=admin)
    assert response.status_code == 422 and "areas.0" in response.json["error"]["fields"]
    created = client.post("/api/v1/users", json={
        "username": "d-areas", "password": "quiet-ferry-lantern-42", "role": "dispatcher", "name": "D",
        "areas": ["510107"]}, headers=admin)
    assert created.status_code == 201 and created.json["areas"] == ["510107"]


def test_the_area_is_the_district_never_the_door():
    assert area_of("成都市锦江区春熙路12号") == "成都市锦江区"
    assert area_of("") == ""


def test_a_plan_job_outcome_notifies_whoever_started_it(session, create_user):
    starter = create_user(Role.DISPATCHER, phone="+8613900000031")
    done = create_job(session, kind="route_plan", queue="planning", func="x.y", args={}, created_by_id=starter.id)
    failed = create_job(session, kind="route_plan", queue="planning", func="x.y", args={}, created_by_id=starter.id)
    other = create_job(session, kind="tracing", queue="tracing", func="x.y", args={}, created_by_id=starter.id)
    _finish(done.id, JobStatus.DONE, result={"stats": {"routes": 4, "visits_assigned": 31, "unassigned": 2}})
    _finish(failed.id, JobStatus.FAILED, error=("no_collectors", "no collectors on shift"))
    _finish(other.id, JobStatus.DONE, result={})
    rows = _notices(session, user_id=starter.id)
    assert {(r.template, r.channel.value) for r in rows} == {
        ("plan_finished", "push"), ("plan_finished", "sms"), ("plan_failed", "push"), ("plan_failed", "sms")}
    finished = next(r.text for r in rows if r.template == "plan_finished")
    assert "4 routes, 31 visits, 2 unassigned" in finished
    assert "no collectors on shift" in next(r.text for r in rows if r.template == "plan_failed")
    assert all(r.created_at <= datetime.now(UTC) for r in rows)
