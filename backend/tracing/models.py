"""Tracing requests, their raw uploads (deleted when the job ends) and the ranked candidates they yield."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.timeutil import utcnow


class CandidateKind(enum.StrEnum):
    NEW_NUMBER = "new_number"
    KIN = "kin"
    ASSOCIATE = "associate"


class CandidateStatus(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class TracingRequest(db.Model):
    """One lookup a tracing specialist ran, on what legal basis; status and progress live on its job row."""

    __tablename__ = "tracing_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("background_jobs.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(sa.String(40))
    legal_reference: Mapped[str | None] = mapped_column(sa.String(200))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Fingerprints of the uploads: kept after the files are gone, so a resubmission is recognised.
    contacts_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    calls_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    files: Mapped[dict] = mapped_column(JSONB, default=dict)
    stats: Mapped[dict] = mapped_column(JSONB, default=dict)
    candidate_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    traced_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    raw_deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    job = relationship("BackgroundJob")
    uploads = relationship("TracingUpload", back_populates="request", cascade="all, delete-orphan",
                           passive_deletes=True)

    __table_args__ = (sa.Index("ix_tracing_requests_fingerprint", "case_id", "contacts_sha256", "calls_sha256"),)


class TracingUpload(db.Model):
    """A raw uploaded file, held in the database (workers run elsewhere) only until its job ends."""

    __tablename__ = "tracing_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    request = relationship("TracingRequest", back_populates="uploads")

    __table_args__ = (
        sa.UniqueConstraint("request_id", "kind"),
        sa.CheckConstraint("kind in ('contacts', 'calls')", name="kind_known"),
    )


class TracingCandidate(db.Model):
    """A number the engine proposes (the debtor's new number, kin, an associate) for a person to confirm."""

    __tablename__ = "tracing_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("tracing_requests.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    rank: Mapped[int] = mapped_column()
    number_e164: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[CandidateKind] = mapped_column(pg_enum(CandidateKind, "tracing_candidate_kind"))
    relationship: Mapped[str | None] = mapped_column(sa.String(40))
    score: Mapped[float] = mapped_column()
    evidence: Mapped[dict] = mapped_column(JSONB, default=dict)
    flags: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)), default=list)
    status: Mapped[CandidateStatus] = mapped_column(
        pg_enum(CandidateStatus, "tracing_candidate_status"), default=CandidateStatus.PROPOSED)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(sa.String(500))
    case_phone_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_phones.id", ondelete="SET NULL"))
    case_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    # Spelled in full: the class's own `relationship` column shadows the function name here.
    request = sa.orm.relationship("TracingRequest")

    __table_args__ = (
        sa.UniqueConstraint("request_id", "number_e164"),
        sa.CheckConstraint("score >= 0 and score <= 1", name="score_range"),
        # Rejections are looked up per case for every later request.
        sa.Index("ix_tracing_candidates_case_status", "case_id", "status"),
    )
