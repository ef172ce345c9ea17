"""a version for each saved Immich configuration

Caches key their entries by it, so a save or a deletion makes every earlier entry
unreachable at once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('immich_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.String(length=32), nullable=True))
    op.execute("UPDATE immich_configs SET version = 'initial'")
    with op.batch_alter_table('immich_configs', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('immich_configs', schema=None) as batch_op:
        batch_op.drop_column('version')
