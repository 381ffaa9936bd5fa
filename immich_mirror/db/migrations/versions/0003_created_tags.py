"""created_tags: tags the tool created (markers, tag rules, and the parents PUT /tags made), the only ones undo may delete

Revision ID: 0003_created_tags
Revises: 0002_created_albums
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003_created_tags'
down_revision = '0002_created_albums'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('created_tags',
    sa.Column('tag_id', sa.String(), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('tag_id', name=op.f('pk_created_tags'))
    )


def downgrade() -> None:
    op.drop_table('created_tags')
