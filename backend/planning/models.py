"""Stored routes: one per collector and day, with ordered stops, ETAs and the line they trace."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import db
from backend.timeutil import utcnow


class Route(db.Model):
    """A collector's planned day. The line runs through the stops only: never from the start point,
    which may be the collector's lodging."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    collector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    plan_date: Mapped[date] = mapped_column(sa.Date, index=True)
    solver: Mapped[str] = mapped_column(sa.String(40))
    distance_m: Mapped[int] = mapped_column(sa.Integer)
    duration_s: Mapped[int] = mapped_column(sa.Integer)
    path = mapped_column(Geography(geometry_type="LINESTRING", srid=4326, spatial_index=True), nullable=True)
    planned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Grows whenever the stops change (a plan, a visit released): a phone compares it with its copy.
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")

    stops = relationship("RouteStop", back_populates="route", order_by="RouteStop.sequence",
                         cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (sa.UniqueConstraint("collector_id", "plan_date"),)


class RouteStop(db.Model):
    __tablename__ = "route_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(sa.ForeignKey("routes.id", ondelete="CASCADE"))
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    sequence: Mapped[int] = mapped_column()
    # The collector's own times (from their start point); only they see these.
    eta: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    departure: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # The times everyone else sees: the day walked from the first stop (routing.schedule.shared_times).
    shared_eta: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    shared_departure: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    location = mapped_column(Geography(geometry_type="POINT", srid=4326, spatial_index=False), nullable=False)
    # Done or under way when planned: kept where it was.
    fixed: Mapped[bool] = mapped_column(default=False)

    route = relationship("Route", back_populates="stops")

    __table_args__ = (
        sa.UniqueConstraint("route_id", "sequence"),
        sa.UniqueConstraint("route_id", "visit_id"),
    )


class RoutePlan(db.Model):
    """One plan of a day: its settings, its progress and, once stored, what it changed per collector."""

    __tablename__ = "route_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_date: Mapped[date] = mapped_column(sa.Date, index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    time_limit_s: Mapped[float] = mapped_column(sa.Float)
    # Per region: {"name", "job_id", "collectors", "visits", "status", "progress", "solve_s"}.
    regions: Mapped[list] = mapped_column(sa.JSON, default=list)
    changes: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
