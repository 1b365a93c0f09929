"""visit outcomes and routes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00

"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OUTCOME_KINDS = ("met_debtor", "promise_to_pay", "paid", "refused", "not_home", "moved", "address_invalid",
                 "third_party_met", "hostile")


def _point(nullable=False):
    return Geography(geometry_type="POINT", srid=4326, dimension=2, spatial_index=False,
                     from_text="ST_GeogFromText", name="geography", nullable=nullable)


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("required_skills", postgresql.ARRAY(sa.String(length=40)),
                                      server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "visit_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Enum(*OUTCOME_KINDS, name="visit_outcome_kind"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", _point(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("on_site", sa.Boolean(), nullable=False),
        sa.Column("geofence_m", sa.Float(), nullable=False),
        sa.Column("flags", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("promise", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("payment", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_phones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("hazards", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("accuracy_m is null or accuracy_m >= 0",
                           name=op.f("ck_visit_outcomes_accuracy_non_negative")),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_visit_outcomes_collector_id_users")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_visit_outcomes_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_outcomes")),
        sa.UniqueConstraint("collector_id", "idempotency_key",
                            name=op.f("uq_visit_outcomes_collector_id_idempotency_key")),
    )
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_outcomes_visit_id"), ["visit_id"], unique=False)
        batch_op.create_index("ix_visit_outcomes_collector_recorded", ["collector_id", "recorded_at"], unique=False)
        batch_op.create_geospatial_index("idx_visit_outcomes_location", ["location"], unique=False,
                                         postgresql_using="gist", postgresql_ops={})

    op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("plan_date", sa.Date(), nullable=False),
        sa.Column("solver", sa.String(length=40), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("path", Geography(geometry_type="LINESTRING", srid=4326, dimension=2, spatial_index=False,
                                    from_text="ST_GeogFromText", name="geography"), nullable=True),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_routes_collector_id_users")),
        sa.ForeignKeyConstraint(["planned_by_id"], ["users.id"], name=op.f("fk_routes_planned_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("collector_id", "plan_date", name=op.f("uq_routes_collector_id_plan_date")),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routes_plan_date"), ["plan_date"], unique=False)
        batch_op.create_geospatial_index("idx_routes_path", ["path"], unique=False,
                                         postgresql_using="gist", postgresql_ops={})

    op.create_table(
        "route_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=False),
        sa.Column("departure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", _point(), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], name=op.f("fk_route_stops_route_id_routes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_route_stops_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
        sa.UniqueConstraint("route_id", "sequence", name=op.f("uq_route_stops_route_id_sequence")),
        sa.UniqueConstraint("route_id", "visit_id", name=op.f("uq_route_stops_route_id_visit_id")),
    )
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_stops_visit_id"), ["visit_id"], unique=False)


def downgrade():
    op.drop_table("route_stops")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_geospatial_index("idx_routes_path", postgresql_using="gist", column_name="path")
    op.drop_table("routes")
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.drop_geospatial_index("idx_visit_outcomes_location", postgresql_using="gist",
                                       column_name="location")
    op.drop_table("visit_outcomes")
    sa.Enum(name="visit_outcome_kind").drop(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("required_skills")
