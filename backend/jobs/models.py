"""Background work the user waits on: a row first, then a job on a queue."""
from __future__ import annotations

import enum
import re
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.timeutil import utcnow


class JobStatus(enum.StrEnum):
    # Our words, not RQ's: clients hard-code these.
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BackgroundJob(db.Model):
    __tablename__ = "background_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    queue: Mapped[str] = mapped_column(sa.String(20))
    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        pg_enum(JobStatus, "job_status"),
        default=JobStatus.QUEUED, index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    stats: Mapped[dict] = mapped_column(JSONB, default=dict)
    result: Mapped[dict | None] = mapped_column(JSONB)
    # A stable code clients may branch on and a short message; the traceback is in the worker's log only.
    error_code: Mapped[str | None] = mapped_column(sa.String(60))
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    enqueues: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    __table_args__ = (
        sa.CheckConstraint("progress >= 0 and progress <= 1", name="progress_range"),
    )

    @property
    def rq_job_id(self) -> str:
        # Prefixed like the queues, so deployments (and test runs) sharing one Redis never collide.
        prefix = re.sub(r"[^A-Za-z0-9_-]", "-", current_app.config.get("QUEUE_PREFIX", ""))
        return f"{prefix}bg-{self.id}"
