"""A re-plan that changes a collector's day tells them; a first plan and an unchanged re-plan tell nobody."""
from __future__ import annotations

import sqlalchemy as sa

from backend.auth.models import User
from backend.notify.models import Notification
from tests.planning.test_stability import _day, _holders


def _told(session) -> dict[int, list[Notification]]:
    rows = session.scalars(sa.select(Notification).where(Notification.template == "route_changed")).all()
    told: dict[int, list[Notification]] = {}
    for row in rows:
        told.setdefault(row.user_id, []).append(row)
    return told


def test_replan_tells_each_collector_whose_day_changed_and_nobody_else(plan, create_user, make_visit, session):
    users, visits = _day(create_user, make_visit, max_visits_per_day=6, phone="+8613900001111")
    assert plan().status_code == 200
    assert _told(session) == {}  # the first plan of the day: the phones fetch their routes anyway
    assert plan().status_code == 200
    assert _told(session) == {}  # nothing changed
    session.get(User, users[2].id).active = False
    again = plan()
    after = _holders(again)
    gainers = {after[v.id] for v in visits[2]}
    told = _told(session)
    assert set(told) == gainers  # the dropout is inactive: not told; an untouched collector: not told
    for user_id, rows in told.items():
        assert {row.channel for row in rows} == {"push", "sms"}
        version = next(r["version"] for r in again.json["routes"] if r["collector_id"] == user_id)
        assert all(f"第{version}版" in row.text or f"version {version}" in row.text for row in rows)
        assert all("5000" not in row.text for row in rows)  # never a debt


def test_the_same_change_is_told_once(plan, create_user, make_visit, session):
    users, _ = _day(create_user, make_visit, max_visits_per_day=6, phone="+8613900002222")
    plan()
    session.get(User, users[2].id).active = False
    plan()
    first = sum(len(rows) for rows in _told(session).values())
    plan()  # same day again, nothing new
    assert sum(len(rows) for rows in _told(session).values()) == first
