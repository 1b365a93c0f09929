"""Field-safety records: sealed lodgings, shifts, check-ins and alerts (hazard flags: backend.visits)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.geo import point_column_type
from backend.timeutil import utcnow


def _when(**kwargs):
    return mapped_column(sa.DateTime(timezone=True), **kwargs)


class PlaceKind(enum.StrEnum):
    LODGING = "lodging"
    MEAL = "meal"


class CheckinKind(enum.StrEnum):
    SHIFT_START = "shift_start"
    ARRIVED = "arrived"
    LEFT = "left"
    OK = "ok"
    LODGING = "lodging"
    SHIFT_END = "shift_end"


class AlertKind(enum.StrEnum):
    SOS = "sos"
    MISSED_CHECKIN = "missed_checkin"
    SYSTEM = "system"


class AlertState(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Lodging(db.Model):
    """Where a collector sleeps or eats: sealed, readable by the collector and safety dispatchers only.

    No other model holds a relationship to it, so no case, visit, route or alert payload can carry it.
    """

    __tablename__ = "lodgings"

    id: Mapped[int] = mapped_column(primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[PlaceKind] = mapped_column(pg_enum(PlaceKind, "place_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(500), default="")
    location = mapped_column(point_column_type(), nullable=False)
    check_in: Mapped[datetime] = _when()
    check_out: Mapped[datetime | None] = _when(nullable=True)
    created_at: Mapped[datetime] = _when(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("check_out is null or check_out > check_in", name="stay_order"),
        sa.Index("ix_lodgings_collector_check_in", "collector_id", "check_in"),
    )


class SafetyShift(db.Model):
    """A monitored session from shift_start to shift_end: the state the sweep and the board read."""

    __tablename__ = "safety_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = _when()
    ended_at: Mapped[datetime | None] = _when(nullable=True)
    last_checkin_kind: Mapped[CheckinKind | None] = mapped_column(pg_enum(CheckinKind, "checkin_kind"))
    last_checkin_at: Mapped[datetime | None] = _when(nullable=True)
    last_position = mapped_column(point_column_type(), nullable=True)
    # The visit the collector arrived at and has not yet left.
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    next_checkin_by: Mapped[datetime | None] = _when(nullable=True)
    deadline_reason: Mapped[str | None] = mapped_column(sa.String(20))

    collector = relationship("User", foreign_keys=[collector_id])

    __table_args__ = (
        sa.Index("uq_safety_shifts_open_collector", "collector_id", unique=True,
                 postgresql_where=sa.text("ended_at is null")),
        sa.Index("ix_safety_shifts_open_deadline", "next_checkin_by", postgresql_where=sa.text("ended_at is null")),
    )


class Checkin(db.Model):
    """One check-in as the phone reported it, with the deadline in force after it."""

    __tablename__ = "safety_checkins"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("safety_shifts.id"), index=True)
    kind: Mapped[CheckinKind] = mapped_column(pg_enum(CheckinKind, "checkin_kind"))
    recorded_at: Mapped[datetime] = _when()
    received_at: Mapped[datetime] = _when(default=utcnow)
    location = mapped_column(point_column_type(), nullable=False)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    requested_next_checkin_by: Mapped[datetime | None] = _when(nullable=True)
    next_checkin_by: Mapped[datetime | None] = _when(nullable=True)

    __table_args__ = (sa.Index("ix_safety_checkins_collector_recorded", "collector_id", "recorded_at"),)


class SafetyAlert(db.Model):
    """An alert dispatchers must act on; level 1 collector reminder, 2 dispatcher, 3 supervisor."""

    __tablename__ = "safety_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(pg_enum(AlertKind, "alert_kind"))
    collector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    shift_id: Mapped[int | None] = mapped_column(sa.ForeignKey("safety_shifts.id"))
    state: Mapped[AlertState] = mapped_column(pg_enum(AlertState, "alert_state"))
    level: Mapped[int] = mapped_column()
    duress: Mapped[bool] = mapped_column(default=False)
    raised_at: Mapped[datetime] = _when()
    # When the current level was last notified: escalation counts from here.
    notified_at: Mapped[datetime] = _when()
    deadline: Mapped[datetime | None] = _when(nullable=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    position = mapped_column(point_column_type(), nullable=True)
    position_at: Mapped[datetime | None] = _when(nullable=True)
    # The last check-in was at the collector's declared lodging: shown as such, with no coordinates.
    at_declared_lodging: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    # Lets the sweep and the watchdog raise "the same" alert twice and store it once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = _when(nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = _when(nullable=True)
    resolution: Mapped[str | None] = mapped_column(sa.String(500))

    collector = relationship("User", foreign_keys=[collector_id])
    visit = relationship("Visit")

    __table_args__ = (
        sa.CheckConstraint("level between 1 and 3", name="level_range"),
        sa.Index("ix_safety_alerts_open_notified", "notified_at", postgresql_where=sa.text("state = 'open'")),
        sa.Index("ix_safety_alerts_collector_state", "collector_id", "state"),
    )


class AlertEvent(db.Model):
    """Each step of an alert (raised, escalated, renotified, acknowledged, resolved): who and when."""

    __tablename__ = "safety_alert_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("safety_alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    level: Mapped[int] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the sweep
    at: Mapped[datetime] = _when()
    note: Mapped[str] = mapped_column(sa.String(500), default="")


class SweepRun(db.Model):
    """When each safety sweep last ran: the watchdog's evidence that the safety net is alive."""

    __tablename__ = "safety_sweep_runs"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_run_at: Mapped[datetime] = _when()
    runs: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_duration_ms: Mapped[float] = mapped_column(sa.Float, default=0.0)
