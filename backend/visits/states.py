"""The visit lifecycle: which status may follow which; anything else is a 409.

requested ─┬─────────────────▶ scheduled ─▶ assigned ─▶ in_progress ─▶ done | failed
needs_approval ─(approve)─▶ scheduled        │  ▲                      (from assigned too)
any open status before in_progress ─▶ cancelled; a re-plan may hand an assigned visit back
(assigned ─▶ scheduled) or move it to another collector (assigned ─▶ assigned).
"""
from __future__ import annotations

from backend.errors import DomainError
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitStatus

S = VisitStatus
TRANSITIONS: dict[VisitStatus, frozenset[VisitStatus]] = {
    S.REQUESTED: frozenset({S.SCHEDULED, S.ASSIGNED, S.CANCELLED}),
    S.NEEDS_APPROVAL: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.SCHEDULED, S.IN_PROGRESS, S.DONE, S.FAILED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.DONE, S.FAILED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Statuses the planner may (re)place on a route.
PLANNABLE = (S.REQUESTED, S.SCHEDULED, S.ASSIGNED)
# Statuses whose place on a route is history: a re-plan keeps them where they are.
FIXED = (S.IN_PROGRESS, S.DONE, S.FAILED)


def can_move(current: VisitStatus, target: VisitStatus) -> bool:
    """Whether a visit may go from current to target."""
    return target in TRANSITIONS[current]


def check_transition(visit: Visit, target: VisitStatus) -> None:
    """Raise 409 illegal_transition unless the visit may move to target."""
    if not can_move(visit.status, target):
        hint = " (a supervisor must approve it first)" if visit.status is S.NEEDS_APPROVAL else ""
        raise DomainError("illegal_transition",
                          f"visit {visit.id} is {visit.status.value}; it cannot become {target.value}{hint}",
                          extra={"from": visit.status.value, "to": target.value})


def move(visit: Visit, target: VisitStatus) -> Visit:
    """Move the visit to target (checked) and stamp the time."""
    check_transition(visit, target)
    now = utcnow()
    if target is S.IN_PROGRESS:
        visit.started_at = now
    if target in (S.DONE, S.FAILED, S.CANCELLED):
        visit.finished_at = now
    visit.status = target
    visit.updated_at = now
    return visit


def close_by_late_report(visit: Visit, target: VisitStatus) -> Visit:
    """Close an open visit with a report its earlier collector queued before it was moved (re-assigned
    or released): the one way to done/failed that skips the lifecycle above, because the knock already
    happened. Stamps like move()."""
    if visit.status in (S.DONE, S.FAILED, S.CANCELLED) or target not in (S.DONE, S.FAILED):
        raise DomainError("illegal_transition", f"visit {visit.id} is {visit.status.value}; a late report "
                          f"cannot make it {target.value}", extra={"from": visit.status.value, "to": target.value})
    now = utcnow()
    visit.started_at = visit.started_at or now
    visit.status, visit.finished_at, visit.updated_at = target, now, now
    return visit
