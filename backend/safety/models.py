"""Field-safety records. Hazard flags live on an address, so every later visit there carries them."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.timeutil import utcnow


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
        sa.Enum(HazardKind, name="hazard_kind", values_callable=lambda e: [m.value for m in e]))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    requires_two: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (sa.Index("ix_hazard_flags_address_expires", "address_id", "expires_at"),)
