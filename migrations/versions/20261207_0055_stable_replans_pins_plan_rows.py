"""stable re-plans: route versions, visit pins, plan rows

Revision ID: 0055
Revises: 0050
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0055'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('routes', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'visit_pins',
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('collector_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('pinned_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['collector_id'], ['users.id']),
        sa.ForeignKeyConstraint(['pinned_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visit_id'),
    )
    op.create_index(op.f('ix_visit_pins_collector_id'), 'visit_pins', ['collector_id'], unique=False)
    op.create_table(
        'route_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.Float(), nullable=False),
        sa.Column('time_limit_s', sa.Float(), nullable=False),
        sa.Column('regions', sa.JSON(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_route_plans_plan_date'), 'route_plans', ['plan_date'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_route_plans_plan_date'), table_name='route_plans')
    op.drop_table('route_plans')
    op.drop_index(op.f('ix_visit_pins_collector_id'), table_name='visit_pins')
    op.drop_table('visit_pins')
    op.drop_column('routes', 'version')
