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


def test_an_install_with_accounts_gets_its_first_account_claimed(unmigrated_settings):
    """Upgraded under an existing administrator, a fresh sign-up is not a second "first" one."""
    import uuid

    from service.db import upgrade_database
    from service.models import FirstAccount, User, utcnow
    from tests.conftest import PASSWORD, dispose, make_app

    app = make_app(unmigrated_settings, migrate=False)
    upgrade_database(app, "0002")
    admin = uuid.uuid4()
    with app.app_context():
        db.session.execute(User.__table__.insert().values(id=admin, email="admin@example.com", role="ADMIN",
                                                          password_hash="x", created_at=utcnow()))
        db.session.commit()
    upgrade_database(app)
    with app.app_context():
        assert db.session.get(FirstAccount, 1).user_id == admin
    response = app.test_client().post("/api/auth/register", json={"email": "eve@example.com", "password": PASSWORD})
    assert response.status_code == 403
    dispose(app)
