"""The contact log, do-not-contact requests, contact-status history, promises to pay and payments."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.cases.models import ContactStatus
from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.timeutil import utcnow


class Channel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"
    LETTER = "letter"
    VISIT = "visit"


class AttemptResult(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    PROMISE = "promise"
    # Someone else answered the party's phone or door: the party was not reached, a third party was.
    THIRD_PARTY = "third_party"


# Results in which the party itself was spoken to (a conversation happened).
REACHED_RESULTS = frozenset({AttemptResult.ANSWERED, AttemptResult.REFUSED, AttemptResult.PROMISE})


class PromiseStatus(enum.StrEnum):
    OPEN = "open"
    KEPT = "kept"
    PARTIAL = "partial"
    BROKEN = "broken"


class ContactAttempt(db.Model):
    """One attempt to reach the debtor (contact_id null) or a third party, as it happened."""

    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_contacts.id"))
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "contact_channel"))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    result: Mapped[AttemptResult] = mapped_column(pg_enum(AttemptResult, "contact_result"))
    # Stored (not derived in queries) so every counter is a plain FILTER over one index.
    reached: Mapped[bool] = mapped_column()
    notes: Mapped[str] = mapped_column(sa.String(2000), default="")
    late_entry: Mapped[bool] = mapped_column(default=False)
    # The rules the attempt broke when it happened ([] when lawful); [{code, rule, message}].
    violations: Mapped[list] = mapped_column(JSONB, default=list)
    asked_not_to_be_contacted: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    # The visit outcome it came from (no FK: that table belongs to the visits feature).
    visit_outcome_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    logged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    contact = relationship("CaseContact")
    case = relationship("Case")

    __table_args__ = (
        # Every rule check is one range scan of this index: one case, one party, a time window.
        sa.Index("ix_contact_attempts_party_time", "case_id", "contact_id", "started_at"),
        sa.Index("ix_contact_attempts_started_at", "started_at"),
        sa.Index("ix_contact_attempts_flagged", "recorded_at",
                 postgresql_where=sa.text("late_entry OR violations <> '[]'::jsonb")),
    )


class DoNotContactEvent(db.Model):
    """A party asked not to be contacted (active) or a supervisor lifted it; the latest one counts."""

    __tablename__ = "do_not_contact_events"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_contacts.id"))
    active: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.Index("ix_do_not_contact_events_party_at", "case_id", "contact_id", "at"),)


class ContactStatusChange(db.Model):
    """A transition of a case's contact status, with when and why."""

    __tablename__ = "contact_status_changes"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    from_status: Mapped[ContactStatus] = mapped_column(pg_enum(ContactStatus, "contact_status"))
    to_status: Mapped[ContactStatus] = mapped_column(pg_enum(ContactStatus, "contact_status"))
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(sa.String(80))
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.Index("ix_contact_status_changes_case_at", "case_id", "changed_at"),)


class Promise(db.Model):
    """A promise to pay an amount by a date (the debtor's local date)."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_contacts.id"))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    due_date: Mapped[date] = mapped_column(sa.Date)
    promised_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[PromiseStatus] = mapped_column(pg_enum(PromiseStatus, "promise_status"))
    reminder_due_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    paid_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal("0"))
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    notes: Mapped[str] = mapped_column(sa.String(2000), default="")
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact_attempts.id"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    visit_outcome_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    case = relationship("Case")

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_promises_status_due", "status", "due_date"),
        sa.Index("ix_promises_status_reminder", "status", "reminder_due_at"),
    )


class CasePayment(db.Model):
    """Money received on a case (at the door, or reported by the creditor)."""

    __tablename__ = "case_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    paid_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    receipt_no: Mapped[str | None] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(20))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    visit_outcome_id: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.UniqueConstraint("case_id", "receipt_no"),
        sa.Index("ix_case_payments_case_paid", "case_id", "paid_at"),
    )
