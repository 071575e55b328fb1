"""list indexes: (lab, time, id) on proposals, snapshots and deviations, the keys their lists are paged by

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEXES = (
    ('proposals', 'idx_proposals_lab_created', ['lab', 'created_at', 'id']),
    ('infrastructure_snapshots', 'idx_snapshots_lab_created', ['lab', 'created_at', 'id']),
    ('state_deviations', 'idx_deviations_lab_detected', ['lab', 'detected_at', 'id']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
