"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from service.extensions import db
from service.models import Base


def test_migrations_match_the_models(app):
    engine = db.bound(app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert tables == {"alembic_version", *Base.metadata.tables}


def test_upgrade_is_idempotent(app):
    from service.db import upgrade_database

    upgrade_database(app)
    upgrade_database(app)
