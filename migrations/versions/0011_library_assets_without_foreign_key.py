"""the index's rows go with the settings by the statement that deletes them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

PostgreSQL checks a foreign key for every row written: a third of the time of writing a first
sync's rows. The settings' deletion deletes the rows itself, and a sync commits rows only
while the state row it holds (whose foreign key still cascades) is there.
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('library_assets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_library_assets_user_id_immich_configs', type_='foreignkey')


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM library_assets WHERE user_id NOT IN (SELECT user_id FROM immich_configs)'))
    with op.batch_alter_table('library_assets', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_library_assets_user_id_immich_configs', 'immich_configs', ['user_id'],
                                    ['user_id'], ondelete='CASCADE')
