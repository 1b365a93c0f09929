"""field safety: lodgings, shifts, check-ins, alerts, sweep runs

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23 14:00:00

"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

ENUMS = {
    "place_kind": ("lodging", "meal"),
    "checkin_kind": ("shift_start", "arrived", "left", "ok", "lodging", "shift_end"),
    "alert_kind": ("sos", "missed_checkin", "system"),
    "alert_state": ("open", "acknowledged", "resolved"),
}


def _enum(name):
    # Created once up front: checkin_kind is shared by two tables.
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def _point():
    # GiST indexes are created explicitly below.
    return Geography(geometry_type="POINT", srid=4326, spatial_index=False)


def _when(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(bind, checkfirst=True)

    op.create_table(
        "lodgings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("place_kind"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("location", _point(), nullable=False),
        _when("check_in"),
        _when("check_out", nullable=True),
        _when("created_at"),
        sa.CheckConstraint("check_out is null or check_out > check_in", name=op.f("ck_lodgings_stay_order")),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_lodgings_collector_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lodgings")),
    )
    op.create_index(op.f("ix_lodgings_collector_id"), "lodgings", ["collector_id"])
    op.create_index("ix_lodgings_collector_check_in", "lodgings", ["collector_id", "check_in"])
    op.create_index("idx_lodgings_location", "lodgings", ["location"], postgresql_using="gist")

    op.create_table(
        "safety_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        _when("started_at"),
        _when("ended_at", nullable=True),
        sa.Column("last_checkin_kind", _enum("checkin_kind"), nullable=True),
        _when("last_checkin_at", nullable=True),
        sa.Column("last_position", _point(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        _when("next_checkin_by", nullable=True),
        sa.Column("deadline_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_safety_shifts_collector_id_users")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_safety_shifts_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_shifts")),
    )
    op.create_index(op.f("ix_safety_shifts_collector_id"), "safety_shifts", ["collector_id"])
    op.create_index("uq_safety_shifts_open_collector", "safety_shifts", ["collector_id"], unique=True,
                    postgresql_where=sa.text("ended_at is null"))
    op.create_index("ix_safety_shifts_open_deadline", "safety_shifts", ["next_checkin_by"],
                    postgresql_where=sa.text("ended_at is null"))
    op.create_index("idx_safety_shifts_last_position", "safety_shifts", ["last_position"], postgresql_using="gist")

    op.create_table(
        "safety_checkins",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("checkin_kind"), nullable=False),
        _when("recorded_at"),
        _when("received_at"),
        sa.Column("location", _point(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        _when("requested_next_checkin_by", nullable=True),
        _when("next_checkin_by", nullable=True),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_safety_checkins_collector_id_users")),
        sa.ForeignKeyConstraint(["shift_id"], ["safety_shifts.id"],
                                name=op.f("fk_safety_checkins_shift_id_safety_shifts")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_safety_checkins_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_checkins")),
    )
    op.create_index(op.f("ix_safety_checkins_shift_id"), "safety_checkins", ["shift_id"])
    op.create_index("ix_safety_checkins_collector_recorded", "safety_checkins", ["collector_id", "recorded_at"])
    op.create_index("idx_safety_checkins_location", "safety_checkins", ["location"], postgresql_using="gist")

    op.create_table(
        "safety_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("alert_kind"), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=True),
        sa.Column("shift_id", sa.Integer(), nullable=True),
        sa.Column("state", _enum("alert_state"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("duress", sa.Boolean(), nullable=False),
        _when("raised_at"),
        _when("notified_at"),
        _when("deadline", nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("position", _point(), nullable=True),
        _when("position_at", nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        _when("acknowledged_at", nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        _when("resolved_at", nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.CheckConstraint("level between 1 and 3", name=op.f("ck_safety_alerts_level_range")),
        sa.ForeignKeyConstraint(["collector_id"], ["users.id"], name=op.f("fk_safety_alerts_collector_id_users")),
        sa.ForeignKeyConstraint(["shift_id"], ["safety_shifts.id"],
                                name=op.f("fk_safety_alerts_shift_id_safety_shifts")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_safety_alerts_visit_id_visits")),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["users.id"],
                                name=op.f("fk_safety_alerts_acknowledged_by_id_users")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"], name=op.f("fk_safety_alerts_resolved_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_safety_alerts_dedupe_key")),
    )
    op.create_index("ix_safety_alerts_open_notified", "safety_alerts", ["notified_at"],
                    postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_safety_alerts_collector_state", "safety_alerts", ["collector_id", "state"])
    op.create_index("idx_safety_alerts_position", "safety_alerts", ["position"], postgresql_using="gist")

    op.create_table(
        "safety_alert_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        _when("at"),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["safety_alerts.id"],
                                name=op.f("fk_safety_alert_events_alert_id_safety_alerts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_safety_alert_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alert_events")),
    )
    op.create_index(op.f("ix_safety_alert_events_alert_id"), "safety_alert_events", ["alert_id"])

    op.create_table(
        "safety_sweep_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        _when("last_run_at"),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("last_duration_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_safety_sweep_runs")),
    )


def downgrade():
    for table in ("safety_sweep_runs", "safety_alert_events", "safety_alerts", "safety_checkins",
                  "safety_shifts", "lodgings"):
        op.drop_table(table)
    bind = op.get_bind()
    for name in reversed(list(ENUMS)):
        postgresql.ENUM(name=name).drop(bind, checkfirst=True)
