"""The live board: collectors on shift now, nobody off shift."""
from __future__ import annotations

from datetime import date, timedelta

from backend.auth.models import Role
from backend.safety.jobs import sweep_checkins
from tests.safety.conftest import T0

BOARD = "/api/v1/safety/board"


def test_board_shows_only_collectors_on_shift(client, checkin, as_role, dispatcher, assigned_visit):
    on_shift, on_headers = as_role(Role.COLLECTOR)
    went_home, home_headers = as_role(Role.COLLECTOR)
    never, never_headers = as_role(Role.COLLECTOR)
    visit = assigned_visit(on_shift, date(2026, 6, 10))
    checkin(on_headers, "shift_start")
    checkin(on_headers, "arrived", at=20, lat=30.6601, lon=104.0702, visit_id=visit.id)
    checkin(home_headers, "shift_start")
    checkin(home_headers, "shift_end", at=30, lat=30.7, lon=104.1)
    checkin(never_headers, "ok", at=10)  # a check-in outside any shift opens nothing
    board = client.get(BOARD, headers=dispatcher[1]).json
    [row] = board["collectors"]
    assert (row["collector_id"], row["name"]) == (on_shift.id, on_shift.name)
    assert row["last_checkin"]["kind"] == "arrived"
    assert row["last_position"] == {"type": "Point", "coordinates": [104.0702, 30.6601]}
    assert row["visit"] == {"id": visit.id, "address": visit.address.text}
    assert row["next_checkin_by"] == (T0 + timedelta(minutes=20 + 45)).isoformat()
    text = str(board)
    assert str(went_home.id) not in [str(r["collector_id"]) for r in board["collectors"]]
    assert "30.7" not in text and never.name not in text and went_home.name not in text


def test_board_lists_open_alerts_per_collector(client, checkin, collector, supervisor):
    user, headers = collector
    checkin(headers, "shift_start")
    sweep_checkins(now=T0 + timedelta(minutes=126))
    [row] = client.get(BOARD, headers=supervisor[1]).json["collectors"]
    assert row["overdue"] is True
    assert [(a["kind"], a["level"], a["state"]) for a in row["open_alerts"]] == [("missed_checkin", 1, "open")]


def test_board_is_for_safety_dispatchers_only(client, as_role):
    for role in (Role.COLLECTOR, Role.TRACER):
        _, headers = as_role(role)
        assert client.get(BOARD, headers=headers).status_code == 403
