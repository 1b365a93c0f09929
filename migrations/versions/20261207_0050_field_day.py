"""the field day: assignment history, absences, proof-of-visit fields, outcome reviews

Revision ID: 0050
Revises: 0020
Create Date: 2026-12-07 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0020"
branch_labels = None
depends_on = None

DECISIONS = ("accepted", "corrected", "rejected", "escalated")


def upgrade():
    op.add_column("visit_outcomes", sa.Column("fix_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("visit_outcomes", sa.Column("mock_location", sa.Boolean(), server_default=sa.false(),
                                              nullable=False))
    op.create_table(
        "visit_assignments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_date", sa.Date(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_visit_assignments_visit_id_visits"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_visit_assignments_collector_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_assignments")),
    )
    op.create_index("ix_visit_assignments_visit_collector", "visit_assignments", ["visit_id", "collector_id"])
    # Who holds each visit today is the first entry of its history.
    op.execute("INSERT INTO visit_assignments (visit_id, collector_id, scheduled_date, at) "
               "SELECT id, collector_id, scheduled_date, updated_at FROM visits WHERE collector_id IS NOT NULL")
    op.create_table(
        "collector_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_collector_absences_collector_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_collector_absences_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collector_absences")),
        sa.UniqueConstraint("collector_id", "day", name=op.f("uq_collector_absences_collector_id_day")),
    )
    op.create_index("ix_collector_absences_day", "collector_absences", ["day"])
    op.create_table(
        "outcome_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.Enum(*DECISIONS, name="outcome_review_decision"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outcome_id"], ["visit_outcomes.id"],
                                name=op.f("fk_outcome_reviews_outcome_id_visit_outcomes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"], name=op.f("fk_outcome_reviews_reviewed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_reviews")),
        sa.UniqueConstraint("outcome_id", name=op.f("uq_outcome_reviews_outcome_id")),
    )


def downgrade():
    op.drop_table("outcome_reviews")
    sa.Enum(name="outcome_review_decision").drop(op.get_bind(), checkfirst=True)
    op.drop_index("ix_collector_absences_day", table_name="collector_absences")
    op.drop_table("collector_absences")
    op.drop_index("ix_visit_assignments_visit_collector", table_name="visit_assignments")
    op.drop_table("visit_assignments")
    op.drop_column("visit_outcomes", "mock_location")
    op.drop_column("visit_outcomes", "fix_at")
