"""The geocode cache: one answer per (provider, normalised text), so the same address is never asked twice."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.timeutil import utcnow


class GeocodeCacheEntry(db.Model):
    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    # geocoder:<name> or gazetteer: a change of GEOCODER asks the new provider afresh.
    provider: Mapped[str] = mapped_column(sa.String(40))
    normalised_text: Mapped[str] = mapped_column(sa.String(500))
    found: Mapped[bool] = mapped_column()
    lat: Mapped[float | None] = mapped_column()   # WGS-84
    lon: Mapped[float | None] = mapped_column()
    precision: Mapped[str | None] = mapped_column(sa.String(10))
    adcode: Mapped[str | None] = mapped_column(sa.String(12))
    confidence: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("provider", "normalised_text"),
        sa.CheckConstraint("found = (lat is not null and lon is not null)", name="found_has_position"),
    )
