"""Staff accounts and their roles."""
from __future__ import annotations

import enum
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.geo import point_column_type
from backend.timeutil import utcnow


class Role(enum.StrEnum):
    COLLECTOR = "collector"
    DISPATCHER = "dispatcher"
    TRACER = "tracer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(pg_enum(Role, "user_role"))
    name: Mapped[str] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    home = mapped_column(point_column_type(), nullable=True)
    shift_start: Mapped[time] = mapped_column(sa.Time, default=time(8, 30))
    shift_end: Mapped[time] = mapped_column(sa.Time, default=time(18, 0))
    max_visits_per_day: Mapped[int] = mapped_column(default=12)
    skills: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)), default=list)
    # Districts a dispatcher covers, as administrative codes (a city code covers its districts); none: all.
    areas: Mapped[list[str]] = mapped_column(ARRAY(sa.String(12)), default=list, server_default="{}")
    # Collectors who work as a two-person crew can take hazard-flagged addresses.
    team_size: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change or deactivation; tokens carry it, so old tokens stop working.
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("max_visits_per_day >= 0", name="max_visits_non_negative"),
        sa.CheckConstraint("team_size between 1 and 4", name="team_size_range"),
    )
