"""Portfolios: the creditor that placed a set of cases, and the rules it asks us to follow."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.timeutil import utcnow

DEFAULT_PORTFOLIO_CODE = "default"


class Portfolio(db.Model):
    __tablename__ = "portfolios"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    creditor: Mapped[str] = mapped_column(sa.String(200))
    profile: Mapped[str] = mapped_column(sa.String(40), default="cn_default")
    overrides: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
