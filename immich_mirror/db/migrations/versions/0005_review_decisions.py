"""review_decisions: what a person decided about a planned change in `autotag review`

A rejected change (by its idem_key) stays out of every later plan until the decision is lifted.

Revision ID: 0005_review_decisions
Revises: 0004_excluded_targets
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_review_decisions'
down_revision = '0004_excluded_targets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_decisions',
    sa.Column('idem_key', sa.String(), nullable=False),
    sa.Column('decision', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('target', sa.String(), nullable=False),
    sa.Column('asset_id', sa.String(), nullable=True),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('idem_key', name=op.f('pk_review_decisions'))
    )


def downgrade() -> None:
    op.drop_table('review_decisions')
