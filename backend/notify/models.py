"""The notification outbox: every message is a row first, written in the transaction of the event
that causes it, then delivered by a job on the `notify` queue. The row is the truth; Redis only
carries the work, so a lost job loses nothing (the sweep finds the row again)."""
from __future__ import annotations

import enum
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.timeutil import utcnow


def _when(**kwargs):
    return mapped_column(sa.DateTime(timezone=True), **kwargs)


class Channel(enum.StrEnum):
    PUSH = "push"
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"


class NotificationStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Acknowledged, resolved or otherwise moot before it left: it will never be sent.
    CANCELLED = "cancelled"
    # Stopped by a rule before it was queued (a promise reminder the contact rules refuse: do-not-contact,
    # a cap), kept with the rule's reason in last_error so a supervisor can review it; never sent.
    REFUSED = "refused"


class Notification(db.Model):
    """One message to one recipient on one channel."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "notification_channel"))
    # Staff are users; a debtor is a number only.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    to_phone: Mapped[str | None] = mapped_column(sa.String(20))
    to_email: Mapped[str | None] = mapped_column(sa.String(254))
    to_push: Mapped[str | None] = mapped_column(sa.String(200))
    template: Mapped[str] = mapped_column(sa.String(60))
    locale: Mapped[str] = mapped_column(sa.String(10))
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    text: Mapped[str] = mapped_column(sa.Text)
    alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("safety_alerts.id", ondelete="CASCADE"))
    level: Mapped[int | None] = mapped_column()
    promise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("promises.id", ondelete="CASCADE"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"))
    ack_code: Mapped[str | None] = mapped_column(sa.String(12))
    status: Mapped[NotificationStatus] = mapped_column(pg_enum(NotificationStatus, "notification_status"))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    provider: Mapped[str | None] = mapped_column(sa.String(30))
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(200))
    # The same event notifying the same person on the same channel twice is stored once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = _when(default=utcnow)
    # Not before this moment (lawful hours, a quiet period, a retry's backoff).
    not_before: Mapped[datetime] = _when(default=utcnow)
    claimed_at: Mapped[datetime | None] = _when(nullable=True)
    sent_at: Mapped[datetime | None] = _when(nullable=True)
    finished_at: Mapped[datetime | None] = _when(nullable=True)

    __table_args__ = (
        sa.CheckConstraint("user_id is not null or to_phone is not null or to_email is not null",
                           name="has_recipient"),
        sa.CheckConstraint("attempts >= 0 and max_attempts >= 1", name="attempts_range"),
        # What delivery claims: due queued rows, oldest first.
        sa.Index("ix_notifications_queued_due", "not_before", "id", postgresql_where=sa.text("status = 'queued'")),
        sa.Index("ix_notifications_sending_claimed", "claimed_at", postgresql_where=sa.text("status = 'sending'")),
        sa.Index("ix_notifications_alert", "alert_id", postgresql_where=sa.text("alert_id is not null")),
        sa.Index("ix_notifications_promise", "promise_id", postgresql_where=sa.text("promise_id is not null")),
        sa.Index("ix_notifications_created", "created_at", "id"),
    )


class NotificationPreference(db.Model):
    """A user's own delivery settings: channels they accept, a quiet period, where to reach them."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(sa.String(10)))
    quiet_start: Mapped[time | None] = mapped_column(sa.Time)
    quiet_end: Mapped[time | None] = mapped_column(sa.Time)
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh-CN")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    push_registration_id: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = _when(default=utcnow)
