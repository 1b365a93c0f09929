"""geocode cache without a hit counter (nothing read it; counting wrote a row per lookup)

Revision ID: 0065
Revises: 0060
Create Date: 2026-12-07 02:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0065'
down_revision = '0060'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_column('geocode_cache', 'hits')


def downgrade():
    op.add_column('geocode_cache', sa.Column('hits', sa.Integer(), server_default='0', nullable=False))
