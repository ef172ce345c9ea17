"""location history: tracks and their packed points, the camera clock setting, write-backs,
and the user's own edits of detected trips

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _owner(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['user_id'], ['immich_configs.user_id'],
                                   name=op.f(f'fk_{table}_user_id_immich_configs'), ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('tracks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('started_ms', sa.BigInteger(), nullable=False),
    sa.Column('ended_ms', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    _owner('tracks'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracks'))
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index('ix_tracks_user_time', ['user_id', 'started_ms'], unique=False)

    op.create_table('track_chunks',
    sa.Column('track_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('started_ms', sa.BigInteger(), nullable=False),
    sa.Column('ended_ms', sa.BigInteger(), nullable=False),
    sa.Column('point_count', sa.Integer(), nullable=False),
    sa.Column('times', sa.LargeBinary(), nullable=False),
    sa.Column('latitudes', sa.LargeBinary(), nullable=False),
    sa.Column('longitudes', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['track_id'], ['tracks.id'], name=op.f('fk_track_chunks_track_id_tracks'),
                            ondelete='CASCADE'),
    _owner('track_chunks'),
    sa.PrimaryKeyConstraint('track_id', 'seq', name=op.f('pk_track_chunks'))
    )
    with op.batch_alter_table('track_chunks', schema=None) as batch_op:
        batch_op.create_index('ix_track_chunks_user_time', ['user_id', 'started_ms', 'ended_ms'], unique=False)

    op.create_table('track_settings',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('camera_clock_offset_seconds', sa.Integer(), nullable=True),
    sa.Column('fitted_offset_seconds', sa.Integer(), nullable=True),
    sa.Column('fitted_from_photos', sa.Integer(), nullable=False),
    sa.Column('fitted_key', sa.String(length=64), nullable=True),
    _owner('track_settings'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_track_settings'))
    )

    op.create_table('track_writebacks',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('previous_latitude', sa.Float(), nullable=True),
    sa.Column('previous_longitude', sa.Float(), nullable=True),
    sa.Column('written_latitude', sa.Float(), nullable=False),
    sa.Column('written_longitude', sa.Float(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    _owner('track_writebacks'),
    sa.PrimaryKeyConstraint('user_id', 'asset_id', name=op.f('pk_track_writebacks'))
    )

    op.create_table('trip_overrides',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('trip_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    _owner('trip_overrides'),
    sa.PrimaryKeyConstraint('user_id', 'trip_id', name=op.f('pk_trip_overrides'))
    )

    op.create_table('trip_edits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('start_ms', sa.BigInteger(), nullable=False),
    sa.Column('end_ms', sa.BigInteger(), nullable=True),
    _owner('trip_edits'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trip_edits'))
    )
    with op.batch_alter_table('trip_edits', schema=None) as batch_op:
        batch_op.create_index('ix_trip_edits_user', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trip_edits', schema=None) as batch_op:
        batch_op.drop_index('ix_trip_edits_user')
    op.drop_table('trip_edits')
    op.drop_table('trip_overrides')
    op.drop_table('track_writebacks')
    op.drop_table('track_settings')
    with op.batch_alter_table('track_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_track_chunks_user_time')
    op.drop_table('track_chunks')
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_tracks_user_time')
    op.drop_table('tracks')
