"""the first account's claim

`first_account` holds one row, inserted with the first account: its primary key makes
exactly one of several sign-ups at once the first ADMIN, in any process. An install that
already has accounts gets the row of its oldest one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('first_account',
    sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('slot', name=op.f('pk_first_account'))
    )
    op.execute(
        "INSERT INTO first_account (slot, user_id, claimed_at) "
        "SELECT 1, id, created_at FROM users ORDER BY created_at LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table('first_account')
