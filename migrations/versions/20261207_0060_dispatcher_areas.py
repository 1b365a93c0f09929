"""dispatcher areas: the districts a dispatcher covers, for new-request notices

Revision ID: 0060
Revises: 0055
Create Date: 2026-12-07 01:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0060'
down_revision = '0055'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('areas', postgresql.ARRAY(sa.String(length=12)), server_default='{}',
                                     nullable=False))


def downgrade():
    op.drop_column('users', 'areas')
