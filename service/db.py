"""The database: one engine per app, one session per app context, Alembic for the schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from service.resources import resource_path

MIGRATIONS_DIR = resource_path("migrations")


EXTENSION_KEY = "db"


@dataclass(frozen=True)
class BoundDatabase:
    engine: Engine
    sessionmaker: sessionmaker[Session]


class Database:
    """Created unbound; init_app gives each app its own engine and session factory."""

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        options: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_size=10, max_overflow=20, pool_recycle=1800,
                           connect_args={"connect_timeout": 5})
        engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        app.extensions[EXTENSION_KEY] = BoundDatabase(engine, sessionmaker(engine))
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def bound(app: Flask | None = None) -> BoundDatabase:
        found: BoundDatabase = (app or current_app).extensions[EXTENSION_KEY]
        return found

    @property
    def engine(self) -> Engine:
        return self.bound().engine

    @property
    def session(self) -> Session:
        """The current app context's session; closed when the context ends."""
        if "db_session" not in g:
            g.db_session = self.bound().sessionmaker()
        session: Session = g.db_session
        return session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_database(app: Flask, revision: str = "head") -> None:
    """Apply the migrations to the app's database."""
    command.upgrade(alembic_config(Database.bound(app).engine), revision)
