"""records fingerprint indexes: max(updated_at) of a lab's instances, max(last_seen_at) and max(resolved_at) of
its deviations read from an index (the check long-lived MCP readers make on every call)

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = (
    ('deployment_instances', 'idx_instances_lab_updated', ['lab', 'updated_at']),
    ('state_deviations', 'idx_deviations_lab_seen', ['lab', 'last_seen_at']),
    ('state_deviations', 'idx_deviations_lab_resolved', ['lab', 'resolved_at']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
