"""contact log and promises

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None

CHANNEL = sa.Enum('call', 'sms', 'letter', 'visit', name='contact_channel')
RESULT = sa.Enum('answered', 'no_answer', 'refused', 'wrong_number', 'promise', 'third_party', name='contact_result')
PROMISE_STATUS = sa.Enum('open', 'kept', 'partial', 'broken', name='promise_status')
# Created by the platform revision; reused here.
CONTACT_STATUS = postgresql.ENUM('reachable', 'semi_lost', 'lost', name='contact_status', create_type=False)


def upgrade():
    op.create_table('contact_attempts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel', CHANNEL, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result', RESULT, nullable=False),
    sa.Column('reached', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.String(length=2000), nullable=False),
    sa.Column('late_entry', sa.Boolean(), nullable=False),
    sa.Column('violations', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('asked_not_to_be_contacted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('visit_outcome_id', sa.BigInteger(), nullable=True),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_contact_attempts_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['case_contacts.id'], name=op.f('fk_contact_attempts_contact_id_case_contacts')),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_contact_attempts_logged_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_contact_attempts_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_attempts')),
    sa.UniqueConstraint('visit_outcome_id', name=op.f('uq_contact_attempts_visit_outcome_id'))
    )
    op.create_index('ix_contact_attempts_party_time', 'contact_attempts', ['case_id', 'contact_id', 'started_at'])
    op.create_index('ix_contact_attempts_started_at', 'contact_attempts', ['started_at'])
    op.create_index('ix_contact_attempts_flagged', 'contact_attempts', ['recorded_at'],
                    postgresql_where=sa.text("late_entry OR violations <> '[]'::jsonb"))

    op.create_table('do_not_contact_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('attempt_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_do_not_contact_events_actor_id_users')),
    sa.ForeignKeyConstraint(['attempt_id'], ['contact_attempts.id'], name=op.f('fk_do_not_contact_events_attempt_id_contact_attempts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_do_not_contact_events_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['case_contacts.id'], name=op.f('fk_do_not_contact_events_contact_id_case_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_do_not_contact_events'))
    )
    op.create_index('ix_do_not_contact_events_party_at', 'do_not_contact_events', ['case_id', 'contact_id', 'at'])

    op.create_table('contact_status_changes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_status', CONTACT_STATUS, nullable=False),
    sa.Column('to_status', CONTACT_STATUS, nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('attempt_id', sa.BigInteger(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['contact_attempts.id'], name=op.f('fk_contact_status_changes_attempt_id_contact_attempts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_contact_status_changes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_status_changes'))
    )
    op.create_index('ix_contact_status_changes_case_at', 'contact_status_changes', ['case_id', 'changed_at'])

    op.create_table('promises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('promised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', PROMISE_STATUS, nullable=False),
    sa.Column('reminder_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.String(length=2000), nullable=False),
    sa.Column('attempt_id', sa.BigInteger(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('visit_outcome_id', sa.BigInteger(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_promises_amount_positive')),
    sa.ForeignKeyConstraint(['attempt_id'], ['contact_attempts.id'], name=op.f('fk_promises_attempt_id_contact_attempts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_promises_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['case_contacts.id'], name=op.f('fk_promises_contact_id_case_contacts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_promises_created_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_promises_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promises')),
    sa.UniqueConstraint('visit_outcome_id', name=op.f('uq_promises_visit_outcome_id'))
    )
    op.create_index(op.f('ix_promises_case_id'), 'promises', ['case_id'])
    op.create_index('ix_promises_status_due', 'promises', ['status', 'due_date'])
    op.create_index('ix_promises_status_reminder', 'promises', ['status', 'reminder_due_at'])

    op.create_table('case_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt_no', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('visit_outcome_id', sa.BigInteger(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_case_payments_amount_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_payments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_case_payments_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_case_payments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_payments')),
    sa.UniqueConstraint('case_id', 'receipt_no', name=op.f('uq_case_payments_case_id_receipt_no')),
    sa.UniqueConstraint('visit_outcome_id', name=op.f('uq_case_payments_visit_outcome_id'))
    )
    op.create_index('ix_case_payments_case_paid', 'case_payments', ['case_id', 'paid_at'])


def downgrade():
    op.drop_index('ix_case_payments_case_paid', table_name='case_payments')
    op.drop_table('case_payments')
    op.drop_index('ix_promises_status_reminder', table_name='promises')
    op.drop_index('ix_promises_status_due', table_name='promises')
    op.drop_index(op.f('ix_promises_case_id'), table_name='promises')
    op.drop_table('promises')
    op.drop_index('ix_contact_status_changes_case_at', table_name='contact_status_changes')
    op.drop_table('contact_status_changes')
    op.drop_index('ix_do_not_contact_events_party_at', table_name='do_not_contact_events')
    op.drop_table('do_not_contact_events')
    op.drop_index('ix_contact_attempts_flagged', table_name='contact_attempts')
    op.drop_index('ix_contact_attempts_started_at', table_name='contact_attempts')
    op.drop_index('ix_contact_attempts_party_time', table_name='contact_attempts')
    op.drop_table('contact_attempts')
    PROMISE_STATUS.drop(op.get_bind(), checkfirst=True)
    RESULT.drop(op.get_bind(), checkfirst=True)
    CHANNEL.drop(op.get_bind(), checkfirst=True)
