"""notification status refused (a reminder the contact rules refused, kept for review)

Revision ID: 0070
Revises: 0065
Create Date: 2026-12-07 05:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0070'
down_revision = '0065'
branch_labels = None
depends_on = None

OLD_VALUES = "'queued', 'sending', 'sent', 'failed', 'cancelled'"


def upgrade():
    # Committed on its own: a value added in a transaction cannot be used until it commits, and every
    # migration of one `upgrade` run shares a transaction (a later one writing 'refused' would fail).
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE notification_status ADD VALUE IF NOT EXISTS 'refused'")


def downgrade():
    # PostgreSQL cannot drop an enum value: the type is rebuilt without it (the partial indexes compare
    # status with the type, so they are rebuilt with it). Refused rows stay, as cancelled: never sent either,
    # and their last_error still says which rule refused them.
    op.execute("UPDATE notifications SET status = 'cancelled' WHERE status = 'refused'")
    op.drop_index('ix_notifications_queued_due', table_name='notifications')
    op.drop_index('ix_notifications_sending_claimed', table_name='notifications')
    op.execute("ALTER TYPE notification_status RENAME TO notification_status_old")
    op.execute(f"CREATE TYPE notification_status AS ENUM ({OLD_VALUES})")
    op.execute("ALTER TABLE notifications ALTER COLUMN status TYPE notification_status "
               "USING status::text::notification_status")
    op.execute("DROP TYPE notification_status_old")
    op.create_index('ix_notifications_queued_due', 'notifications', ['not_before', 'id'], unique=False,
                    postgresql_where="status = 'queued'")
    op.create_index('ix_notifications_sending_claimed', 'notifications', ['claimed_at'], unique=False,
                    postgresql_where="status = 'sending'")
