"""proposal_whatifs: what-if reports of proposals (plan, placements, capacity before and after)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proposal_whatifs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('proposal_id', sa.String(length=64), nullable=False),
    sa.Column('lab', sa.String(length=63), nullable=False),
    sa.Column('head_commit', sa.String(length=64), nullable=False),
    sa.Column('main_commit', sa.String(length=64), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal_whatifs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_whatifs_proposal_id'), ['proposal_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('proposal_whatifs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_whatifs_proposal_id'))
    op.drop_table('proposal_whatifs')
