"""security hardening: append-only audit trail, job error codes, lodging whereabouts on alerts, shared route times

Revision ID: 0040
Revises: 0009
Create Date: 2026-12-07 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=60), nullable=True))
    # Rows written before: their text was the raw exception; keep none of it for clients.
    op.execute("UPDATE background_jobs SET error_code = 'internal_error', "
               "error = 'the job failed; the worker''s log has the details' WHERE error IS NOT NULL")

    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_declared_lodging', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    # Lodging positions already copied onto sessions and alerts: sealed from now on.
    op.execute("UPDATE safety_shifts SET last_position = NULL WHERE last_checkin_kind = 'lodging'")
    op.execute("""
        UPDATE safety_alerts a SET position = NULL, at_declared_lodging = true
        FROM safety_checkins c
        WHERE c.shift_id = a.shift_id AND c.kind = 'lodging' AND c.recorded_at = a.position_at
    """)

    # Route stops get the times everyone but the collector sees (the day walked from the first stop);
    # routes planned before have none to show, and their totals (with the start legs) are dropped.
    with op.batch_alter_table('route_stops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_eta', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shared_departure', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE routes SET distance_m = 0, duration_s = 0")

    # The audit trail is append-only: the database itself refuses to change or remove a row.
    op.execute("""
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("""
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    with op.batch_alter_table('route_stops', schema=None) as batch_op:
        batch_op.drop_column('shared_departure')
        batch_op.drop_column('shared_eta')
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_column('at_declared_lodging')
    with op.batch_alter_table('background_jobs', schema=None) as batch_op:
        batch_op.drop_column('error_code')
