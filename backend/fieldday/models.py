"""A supervisor's decision on a doubtful report from the door (one per outcome)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.timeutil import utcnow


class ReviewDecision(enum.StrEnum):
    ACCEPTED = "accepted"        # the report stands as made
    CORRECTED = "corrected"      # it stands, with the note saying what was really the case
    REJECTED = "rejected"        # it does not stand: the visit did not happen as reported
    ESCALATED = "escalated"      # handed on (misconduct, a safety matter)


class OutcomeReview(db.Model):
    __tablename__ = "outcome_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(sa.ForeignKey("visit_outcomes.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[ReviewDecision] = mapped_column(pg_enum(ReviewDecision, "outcome_review_decision"))
    note: Mapped[str] = mapped_column(sa.Text)
    reviewed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
