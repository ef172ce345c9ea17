"""the library index: each user's assets and the state of their sync

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('library_assets',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('file_created_ms', sa.BigInteger(), nullable=True),
    sa.Column('taken_ms', sa.BigInteger(), nullable=True),
    sa.Column('local_offset_minutes', sa.Integer(), nullable=True),
    sa.Column('bucket', sa.String(length=7), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('original_file_name', sa.String(length=1024), nullable=True),
    sa.Column('city', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=255), nullable=True),
    sa.Column('country', sa.String(length=255), nullable=True),
    sa.Column('is_favorite', sa.Boolean(), nullable=False),
    sa.Column('thumbhash', sa.String(length=128), nullable=True),
    sa.Column('updated_ms', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['immich_configs.user_id'],
                            name=op.f('fk_library_assets_user_id_immich_configs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'asset_id', name=op.f('pk_library_assets'))
    )
    with op.batch_alter_table('library_assets', schema=None) as batch_op:
        batch_op.create_index('ix_library_assets_user_bucket', ['user_id', 'bucket'], unique=False)
        batch_op.create_index('ix_library_assets_user_time', ['user_id', 'file_created_ms'], unique=False)

    op.create_table('library_index_states',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('owner_identity', sa.String(length=128), nullable=True),
    sa.Column('verified_version', sa.String(length=32), nullable=True),
    sa.Column('ready', sa.Boolean(), nullable=False),
    sa.Column('indexed_count', sa.Integer(), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('high_water_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=True),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['immich_configs.user_id'],
                            name=op.f('fk_library_index_states_user_id_immich_configs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_library_index_states'))
    )


def downgrade() -> None:
    op.drop_table('library_index_states')
    with op.batch_alter_table('library_assets', schema=None) as batch_op:
        batch_op.drop_index('ix_library_assets_user_time')
        batch_op.drop_index('ix_library_assets_user_bucket')

    op.drop_table('library_assets')
