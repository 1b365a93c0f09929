"""Hazard flags from visit outcomes reach every later visit at the address."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from backend.safety.checkins import visit_checkin_minutes_for
from backend.signals import visit_outcome_recorded
from backend.visits.hazards import active_hazards
from backend.visits.requests import request_visit


def report(session, visit, actor_id, **outcome):
    visit_outcome_recorded.send(visit, session=session, outcome=SimpleNamespace(**outcome), actor_id=actor_id)


def test_hostile_outcome_flags_the_address_for_later_visits(session, collector, assigned_visit):
    user, _ = collector
    first = assigned_visit(user, date(2026, 6, 10))
    report(session, first, user.id, outcome="hostile", hazards=[{"kind": "threat", "note": "threatened with a bat"}])
    [hostile, threat] = sorted(active_hazards(session, [first.address_id])[first.address_id], key=lambda f: f.kind)
    assert (threat.kind.value, threat.note, threat.author_id, threat.visit_id) == (
        "threat", "threatened with a bat", user.id, first.id)
    assert hostile.kind.value == "hostile" and hostile.requires_two
    later = request_visit(session, case_id=first.case_id, address_id=first.address_id, kind="confirm")
    assert later.requires_two is True
    assert visit_checkin_minutes_for(session, later) == 20  # safety.hazard_visit_checkin_minutes


def test_open_visits_at_the_address_now_need_two(session, collector, assigned_visit):
    user, _ = collector
    first = assigned_visit(user, date(2026, 6, 10))
    pending = request_visit(session, case_id=first.case_id, address_id=first.address_id, kind="locate")
    assert pending.requires_two is False
    report(session, first, user.id, outcome="refused", hazards=["weapon"])
    session.refresh(pending)
    assert pending.requires_two is True


def test_a_dog_shortens_the_timer_without_needing_two(session, collector, assigned_visit):
    user, _ = collector
    first = assigned_visit(user, date(2026, 6, 10))
    report(session, first, user.id, outcome="not_home", hazards=[{"kind": "dog"}])
    later = request_visit(session, case_id=first.case_id, address_id=first.address_id, kind="confirm")
    assert later.requires_two is False
    assert visit_checkin_minutes_for(session, later) == 20


def test_unknown_hazard_words_are_kept_as_other(session, collector, assigned_visit):
    user, _ = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    report(session, visit, user.id, outcome="met_debtor", hazards=["broken stairs"])
    [flag] = active_hazards(session, [visit.address_id])[visit.address_id]
    assert (flag.kind.value, flag.note) == ("other", "broken stairs")


def test_outcome_without_hazards_flags_nothing(session, collector, assigned_visit):
    user, _ = collector
    visit = assigned_visit(user, date(2026, 6, 10))
    report(session, visit, user.id, outcome="paid", hazards=None)
    assert active_hazards(session, [visit.address_id]) == {}
    assert visit_checkin_minutes_for(session, visit) == 45
