"""drill_reports: the stored reports of rebuild drills (score, per resource restored or not and why)

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drill_reports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('lab', sa.String(length=63), nullable=False),
    sa.Column('revision', sa.String(length=64), nullable=False),
    sa.Column('snapshot_id', sa.String(length=32), nullable=True),
    sa.Column('rebuildable', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drill_reports', schema=None) as batch_op:
        batch_op.create_index('idx_drill_reports_lab_created', ['lab', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('drill_reports', schema=None) as batch_op:
        batch_op.drop_index('idx_drill_reports_lab_created')
    op.drop_table('drill_reports')
