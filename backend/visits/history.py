"""Who held each visit, from when: the evidence behind a late report from the door.

Every path that gives a visit to a collector or takes it away (a dispatcher's assignment, a plan, a
re-plan handing it back to the pool, an absence) changes `Visit.collector_id` through the ORM; one
`before_flush` listener writes a `visit_assignments` row for each change, so no path can forget to.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitAssignment


def record_assignment_changes(session: Session, flush_context, instances) -> None:
    """before_flush: one VisitAssignment row per visit whose collector changed (or a new visit with one)."""
    now = None
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Visit):
            continue
        if obj in session.new:
            changed = obj.collector_id is not None
        else:
            history = sa.inspect(obj).attrs.collector_id.history
            changed = history.has_changes() and (history.deleted or [None])[0] != obj.collector_id
        if changed:
            now = now or utcnow()
            session.add(VisitAssignment(visit=obj, collector_id=obj.collector_id,
                                        scheduled_date=obj.scheduled_date, at=now))


def track_assignments() -> None:
    """Listen on every session (from visits.register; idempotent across app instances)."""
    if not sa.event.contains(Session, "before_flush", record_assignment_changes):
        sa.event.listen(Session, "before_flush", record_assignment_changes)



def ever_held(session: Session, visit_id: int, collector_id: int) -> bool:
    """Whether the collector was given this visit at some time (it may have moved away since)."""
    return bool(session.scalar(sa.select(sa.exists().where(VisitAssignment.visit_id == visit_id,
                                                           VisitAssignment.collector_id == collector_id))))
