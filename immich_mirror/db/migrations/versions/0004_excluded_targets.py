"""scope_exclude_albums, scope_exclude_tags: albums and tags the user excluded, never a target of any change

Revision ID: 0004_excluded_targets
Revises: 0003_created_tags
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004_excluded_targets'
down_revision = '0003_created_tags'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scope_exclude_albums',
    sa.Column('album_id', sa.String(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('album_id', name=op.f('pk_scope_exclude_albums'))
    )
    op.create_table('scope_exclude_tags',
    sa.Column('tag_value', sa.String(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('tag_value', name=op.f('pk_scope_exclude_tags'))
    )


def downgrade() -> None:
    op.drop_table('scope_exclude_tags')
    op.drop_table('scope_exclude_albums')
