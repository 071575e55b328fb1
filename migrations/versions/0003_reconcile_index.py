"""reconcile_index, reconcile_index_resources: the no-op index (issue 21 item 2)

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconcile_index',
    sa.Column('lab', sa.String(length=63), nullable=False),
    sa.Column('tree_id', sa.String(length=64), nullable=False),
    sa.Column('engine', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.String(length=64), nullable=False),
    sa.Column('db_stamp', sa.String(length=200), nullable=False),
    sa.Column('providers', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('plan_extras', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
              nullable=False),
    sa.Column('resources', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('lab')
    )
    op.create_table('reconcile_index_resources',
    sa.Column('lab', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('provider', sa.String(length=63), nullable=False),
    sa.Column('provider_type', sa.String(length=32), nullable=False),
    sa.Column('node', sa.String(length=255), nullable=True),
    sa.Column('provider_id', sa.String(length=255), nullable=True),
    sa.Column('input_key', sa.String(length=64), nullable=False),
    sa.Column('render_key', sa.String(length=64), nullable=True),
    sa.Column('observed', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('lab', 'name')
    )


def downgrade() -> None:
    op.drop_table('reconcile_index_resources')
    op.drop_table('reconcile_index')
