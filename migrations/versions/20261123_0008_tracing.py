"""tracing requests, uploads and candidates

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-23 16:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None

CANDIDATE_KIND = postgresql.ENUM("new_number", "kin", "associate", name="tracing_candidate_kind", create_type=False)
CANDIDATE_STATUS = postgresql.ENUM("proposed", "confirmed", "rejected", name="tracing_candidate_status",
                                   create_type=False)


def upgrade():
    CANDIDATE_KIND.create(op.get_bind(), checkfirst=True)
    CANDIDATE_STATUS.create(op.get_bind(), checkfirst=True)

    op.create_table(
        "tracing_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("legal_basis", sa.String(length=40), nullable=False),
        sa.Column("legal_reference", sa.String(length=200), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("contacts_sha256", sa.String(length=64), nullable=True),
        sa.Column("calls_sha256", sa.String(length=64), nullable=True),
        sa.Column("files", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("traced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raw_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_tracing_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["job_id"], ["background_jobs.id"],
                                name=op.f("fk_tracing_requests_job_id_background_jobs")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_tracing_requests_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_requests")),
    )
    op.create_index(op.f("ix_tracing_requests_case_id"), "tracing_requests", ["case_id"])
    op.create_index(op.f("ix_tracing_requests_job_id"), "tracing_requests", ["job_id"])
    op.create_index("ix_tracing_requests_fingerprint", "tracing_requests",
                    ["case_id", "contacts_sha256", "calls_sha256"])

    op.create_table(
        "tracing_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('contacts', 'calls')", name=op.f("ck_tracing_uploads_kind_known")),
        sa.ForeignKeyConstraint(["request_id"], ["tracing_requests.id"],
                                name=op.f("fk_tracing_uploads_request_id_tracing_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_uploads")),
        sa.UniqueConstraint("request_id", "kind", name=op.f("uq_tracing_uploads_request_id_kind")),
    )
    op.create_index(op.f("ix_tracing_uploads_request_id"), "tracing_uploads", ["request_id"])
    # Raw files live minutes: store them uncompressed out of line, no CPU spent on compression.
    op.execute("ALTER TABLE tracing_uploads ALTER COLUMN data SET STORAGE EXTERNAL")

    op.create_table(
        "tracing_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("number_e164", sa.String(length=20), nullable=False),
        sa.Column("kind", CANDIDATE_KIND, nullable=False),
        sa.Column("relationship", sa.String(length=40), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("flags", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("status", CANDIDATE_STATUS, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("case_phone_id", sa.Integer(), nullable=True),
        sa.Column("case_contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score >= 0 and score <= 1", name=op.f("ck_tracing_candidates_score_range")),
        sa.ForeignKeyConstraint(["case_contact_id"], ["case_contacts.id"],
                                name=op.f("fk_tracing_candidates_case_contact_id_case_contacts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_tracing_candidates_case_id_cases")),
        sa.ForeignKeyConstraint(["case_phone_id"], ["case_phones.id"],
                                name=op.f("fk_tracing_candidates_case_phone_id_case_phones"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_tracing_candidates_decided_by_id_users")),
        sa.ForeignKeyConstraint(["request_id"], ["tracing_requests.id"],
                                name=op.f("fk_tracing_candidates_request_id_tracing_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_candidates")),
        sa.UniqueConstraint("request_id", "number_e164", name=op.f("uq_tracing_candidates_request_id_number_e164")),
    )
    op.create_index(op.f("ix_tracing_candidates_request_id"), "tracing_candidates", ["request_id"])
    op.create_index("ix_tracing_candidates_case_status", "tracing_candidates", ["case_id", "status"])


def downgrade():
    op.drop_table("tracing_candidates")
    op.drop_table("tracing_uploads")
    op.drop_table("tracing_requests")
    CANDIDATE_STATUS.drop(op.get_bind(), checkfirst=True)
    CANDIDATE_KIND.drop(op.get_bind(), checkfirst=True)
