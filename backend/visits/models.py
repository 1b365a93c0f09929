"""On-site visits: requested by a rule or a person, assigned to a collector, reported from the door."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.geo import point_column_type
from backend.timeutil import utcnow


class VisitKind(enum.StrEnum):
    CONFIRM = "confirm"
    LOCATE = "locate"
    BROKEN_PROMISE = "broken_promise"


class VisitStatus(enum.StrEnum):
    REQUESTED = "requested"
    NEEDS_APPROVAL = "needs_approval"
    SCHEDULED = "scheduled"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_STATUSES = (VisitStatus.REQUESTED, VisitStatus.NEEDS_APPROVAL, VisitStatus.SCHEDULED,
                 VisitStatus.ASSIGNED, VisitStatus.IN_PROGRESS)


class Visit(db.Model):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    address_id: Mapped[int] = mapped_column(sa.ForeignKey("case_addresses.id"), index=True)
    kind: Mapped[VisitKind] = mapped_column(pg_enum(VisitKind, "visit_kind"))
    status: Mapped[VisitStatus] = mapped_column(pg_enum(VisitStatus, "visit_status"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    priority: Mapped[int] = mapped_column(default=3)
    window_start: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    window_end: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    due_by: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    # manual, or the rule that raised it (trigger.lost, trigger.reminders, trigger.broken_promise, ...)
    source: Mapped[str] = mapped_column(sa.String(40), default="manual")
    # Lets a sweep raise "the same" request twice and store it once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    outsourced: Mapped[bool] = mapped_column(default=False)
    requires_two: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    collector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    scheduled_date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    last_outcome: Mapped[str | None] = mapped_column(sa.String(40))
    # Set when the case moved and the visit was re-targeted to the new address (dispatchers see it).
    address_moved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    moved_from_address_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_addresses.id"))
    # Skills a collector needs for this visit (legal, business, ...), matched against User.skills.
    required_skills: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)), default=list)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    case = relationship("Case")
    address = relationship("CaseAddress", foreign_keys=[address_id])
    # Read only: planning writes pins (planning.service.pin_visit); visit payloads show them.
    pin: Mapped[VisitPin | None] = relationship(viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("priority between 1 and 5", name="priority_range"),
        sa.CheckConstraint("window_end is null or window_start is null or window_end > window_start",
                           name="window_order"),
        sa.Index("ix_visits_collector_date", "collector_id", "scheduled_date"),
    )


class VisitPin(db.Model):
    """A dispatcher's decision that a visit goes to this collector (at this stop number): plans obey it.

    Planning sets, removes and obeys pins; the row lives on the visits floor because every payload
    that shows a visit to a dispatcher (GET /visits, the map, route stops) shows its pin."""

    __tablename__ = "visit_pins"

    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    position: Mapped[int | None] = mapped_column(sa.Integer)
    pinned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OutcomeKind(enum.StrEnum):
    MET_DEBTOR = "met_debtor"
    PROMISE_TO_PAY = "promise_to_pay"
    PAID = "paid"
    REFUSED = "refused"
    NOT_HOME = "not_home"
    MOVED = "moved"
    ADDRESS_INVALID = "address_invalid"
    THIRD_PARTY_MET = "third_party_met"
    HOSTILE = "hostile"


# Outcomes after which the visit's purpose was not achieved; the rest end it as done.
FAILED_OUTCOMES = frozenset({OutcomeKind.NOT_HOME, OutcomeKind.MOVED, OutcomeKind.ADDRESS_INVALID,
                             OutcomeKind.HOSTILE})


class OutcomeFlag(enum.StrEnum):
    """Doubts about a report, for supervisors: stored and returned, never a refusal."""

    IMPLAUSIBLE_TRAVEL = "implausible_travel"
    STALE_FIX = "stale_fix"  # the GPS fix was older than visits.stale_fix_minutes when the report was made
    QUIET_HOURS_VIOLATION = "quiet_hours_violation"
    MOCK_LOCATION = "mock_location"  # the phone said the position came from a mock-location provider
    BACKDATED = "backdated"  # dated before the collector was given the visit, or after it was done
    REASSIGNED = "reassigned"  # reported after the visit was given to someone else, released or cancelled


class VisitOutcome(db.Model):
    """What a collector found at the door, as reported from the phone (stored once per key)."""

    __tablename__ = "visit_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[OutcomeKind] = mapped_column(pg_enum(OutcomeKind, "visit_outcome_kind"))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    location = mapped_column(point_column_type(), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column()
    # When the phone's GPS took the fix (recorded_at is when the collector pressed send).
    fix_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    mock_location: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Computed by the server: metres from the visit address, and within the (widened) geofence.
    # Null when the visit's address had no position yet.
    distance_m: Mapped[float | None] = mapped_column()
    on_site: Mapped[bool] = mapped_column()
    geofence_m: Mapped[float] = mapped_column()
    flags: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)), default=list)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    promise: Mapped[dict | None] = mapped_column(JSONB)
    payment: Mapped[dict | None] = mapped_column(JSONB)
    new_phones: Mapped[list] = mapped_column(JSONB, default=list)
    hazards: Mapped[list] = mapped_column(JSONB, default=list)
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    visit = relationship("Visit")

    __table_args__ = (
        # The database's own guard against a retried report stored twice.
        sa.UniqueConstraint("collector_id", "idempotency_key"),
        sa.Index("ix_visit_outcomes_collector_recorded", "collector_id", "recorded_at"),
        sa.CheckConstraint("accuracy_m is null or accuracy_m >= 0", name="accuracy_non_negative"),
    )


class VisitAssignment(db.Model):
    """Who held a visit, from when: one row each time its collector changes (None: released).

    Append-only, written by visits.history from every flush that changes Visit.collector_id, so a
    phone's late report can be matched to a collector who really held the visit, and dated against it.
    """

    __tablename__ = "visit_assignments"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"))
    collector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    scheduled_date: Mapped[date | None] = mapped_column(sa.Date)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    visit = relationship("Visit")

    __table_args__ = (sa.Index("ix_visit_assignments_visit_collector", "visit_id", "collector_id"),)


class CollectorAbsence(db.Model):
    """A collector who will not work on a date (ill, leave): their open visits that day are released
    and plans leave them out."""

    __tablename__ = "collector_absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("collector_id", "day"), sa.Index("ix_collector_absences_day", "day"))


# Hazard flags live on an address, so every later visit there carries them; they are born with visit
# outcomes, so they live on the visits floor that safety, planning and contacts stand on.
class HazardKind(enum.StrEnum):
    HOSTILE = "hostile"
    THREAT = "threat"
    DOG = "dog"
    WEAPON = "weapon"
    OTHER = "other"


class HazardFlag(db.Model):
    __tablename__ = "hazard_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(sa.ForeignKey("case_addresses.id", ondelete="CASCADE"))
    kind: Mapped[HazardKind] = mapped_column(
        pg_enum(HazardKind, "hazard_kind"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    requires_two: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.Index("ix_hazard_flags_address_expires", "address_id", "expires_at"),)
