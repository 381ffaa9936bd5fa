"""people and asset_people: who Immich recognised in which asset (faces, by person)

`people` mirrors `GET /api/people?withHidden=true`; `asset_people` holds one row per (asset, person),
read by searching `personIds: [id]` (docs/schema.md). An asset with two faces of one person is one row.

Revision ID: 0006_people
Revises: 0005_review_decisions
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_people'
down_revision = '0005_review_decisions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('is_hidden', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.String(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_index(op.f('ix_people_name'), 'people', ['name'], unique=False)
    op.create_table('asset_people',
    sa.Column('asset_id', sa.String(), nullable=False),
    sa.Column('person_id', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_asset_people_person_id_people'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'person_id', name=op.f('pk_asset_people'))
    )
    op.create_index(op.f('ix_asset_people_person_id'), 'asset_people', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_asset_people_person_id'), table_name='asset_people')
    op.drop_table('asset_people')
    op.drop_index(op.f('ix_people_name'), table_name='people')
    op.drop_table('people')
