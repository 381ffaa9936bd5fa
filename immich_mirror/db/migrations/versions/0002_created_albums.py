"""created_albums: albums the tool created (folder albums, tag-album rules), the only ones undo may delete

Revision ID: 0002_created_albums
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002_created_albums'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('created_albums',
    sa.Column('album_id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('album_id', name=op.f('pk_created_albums'))
    )


def downgrade() -> None:
    op.drop_table('created_albums')
