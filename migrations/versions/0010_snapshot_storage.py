"""the packed map columns are stored as they are, never compressed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A part is packed numbers and ids that do not compress; PostgreSQL would try (pglz) on every
part a sync writes, four fifths of the time of writing them. SQLite never compresses.
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE library_snapshots ALTER COLUMN packed SET STORAGE EXTERNAL')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE library_snapshots ALTER COLUMN packed SET STORAGE EXTENDED')
