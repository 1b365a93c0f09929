"""drop pins of closed visits (a visit now loses its pin when it closes; these closed before that)

Revision ID: 0072
Revises: 0070
Create Date: 2026-12-07 05:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0072'
down_revision = '0070'
branch_labels = None
depends_on = None

# Each pin removed is audited as planning's receiver of visit_closed audits it (no actor: the migration),
# with what it was: the audit is its only record once the row is gone.
DROP_CLOSED_PINS = """
WITH dropped AS (
    DELETE FROM visit_pins p USING visits v
    WHERE v.id = p.visit_id AND v.status IN ('done', 'failed', 'cancelled')
    RETURNING p.visit_id, p.collector_id, p.position, p.pinned_by_id, v.status)
INSERT INTO audit_events (at, actor_id, action, subject_type, subject_id, details)
SELECT now(), NULL, 'visit.pin_dropped', 'visit', dropped.visit_id::text,
       jsonb_build_object('collector_id', dropped.collector_id, 'position', dropped.position,
                          'pinned_by_id', dropped.pinned_by_id, 'closed', dropped.status::text)
FROM dropped
"""


def upgrade():
    op.execute(DROP_CLOSED_PINS)


def downgrade():
    pass  # one-way on purpose: the pins removed were of closed visits, which no plan reads (their audit rows keep them)
