"""the map's columns of each user's index, packed in parts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'library_snapshots',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('part', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('photos', sa.Integer(), nullable=False),
        sa.Column('packed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['immich_configs.user_id'],
                                name=op.f('fk_library_snapshots_user_id_immich_configs'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'part', name=op.f('pk_library_snapshots')),
    )


def downgrade() -> None:
    op.drop_table('library_snapshots')
