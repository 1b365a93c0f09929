"""Write and read the audit trail."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent
from backend.timeutil import utcnow


def record_audit(session: Session, *, actor_id: int | None, action: str, subject_type: str,
                 subject_id, at: datetime | None = None, **details) -> AuditEvent:
    """Add an audit event to the session (committed with the caller's work)."""
    event = AuditEvent(actor_id=actor_id, action=action, subject_type=subject_type,
                       subject_id=None if subject_id is None else str(subject_id),
                       at=at or utcnow(), details=details)
    session.add(event)
    return event


def record_signalled_action(sender, *, session: Session, actor_id: int | None, action: str, subject_type: str,
                            subject_id, details: dict | None = None, **_) -> None:
    """Receiver of `action_audited`: features that audit's package stands on record through it."""
    record_audit(session, actor_id=actor_id, action=action, subject_type=subject_type, subject_id=subject_id,
                 **(details or {}))


def list_audit(*, action: str | None = None, subject_type: str | None = None, subject_id: str | None = None,
               actor_id: int | None = None, since: datetime | None = None) -> sa.Select:
    """Audit events matching the filters, newest first (a statement: the route pages it)."""
    query = sa.select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEvent.subject_id == str(subject_id))
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if since:
        query = query.where(AuditEvent.at >= since)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
