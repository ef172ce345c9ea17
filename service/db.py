"""The database: one engine per app, one session per app context, Alembic for the schema."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

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
        engine = make_engine(app.config["DATABASE_URL"], timeout=app.config["DATABASE_TIMEOUT"])
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

    @contextmanager
    def one_connection(self) -> Iterator[Connection]:
        """The app context's session on one connection until the block ends, for a long job
        that sets its connection up (store.bulk_writes); otherwise the session hands its
        connection back to the pool after each transaction and takes whichever is next."""
        self._close_session(None)
        with self.bound().engine.connect() as connection:
            g.db_session = Session(bind=connection)
            try:
                yield connection
            finally:
                self._close_session(None)

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def make_engine(url: str, *, timeout: float | None) -> Engine:
    """An engine for `url`. On PostgreSQL, `timeout` bounds connecting, waiting for a pooled
    connection, and every reply (None: no bound, for migrations that may run long)."""
    sqlite = url.startswith("sqlite")
    # A pooled PostgreSQL connection may have died with its server, so it is tested before
    # use; an SQLite file's cannot, and a test would be one more query per request.
    options: dict[str, Any] = {"pool_pre_ping": not sqlite}
    if sqlite:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif timeout is None:
        options.update(poolclass=NullPool, connect_args={"connect_timeout": 5})
    else:
        options.update(pool_size=10, max_overflow=20, pool_recycle=1800, pool_timeout=timeout)
    engine = create_engine(url, **options)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    elif timeout is not None:
        event.listen(engine, "do_connect", _bounded_connect(timeout))
    return engine


class BoundedConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A psycopg connection that gives up on a reply after `reply_timeout` seconds.

    A frozen server (stopped process, paused VM) keeps its sockets open and its kernel keeps
    acknowledging what we send, so neither TCP keepalives nor the server's statement_timeout
    ever end the wait: only the client can. The connection is closed, and SQLAlchemy then
    sees it as lost and discards it from the pool.
    """

    reply_timeout: float = 5.0

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        bound = self.reply_timeout if timeout is None else min(timeout, self.reply_timeout)
        started = time.monotonic()
        try:
            return super().wait(gen, interval, bound)
        except psycopg.OperationalError:
            if time.monotonic() - started < bound:
                raise
            self.pgconn.finish()
            raise psycopg.OperationalError(f"the database did not answer within {bound:g} s") from None


def _bounded_connect(timeout: float) -> Any:
    def connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> BoundedConnection:
        milliseconds = int(timeout * 1000)
        cparams.setdefault("connect_timeout", max(2, math.ceil(timeout)))  # libpq's minimum is 2
        # A statement the server itself runs too long is cancelled there, keeping the connection.
        cparams["options"] = f"{cparams.get('options', '')} -c statement_timeout={milliseconds}".strip()
        # A peer that vanished from the network (no kernel acknowledging anything) is noticed too.
        cparams.setdefault("tcp_user_timeout", milliseconds)
        cparams.setdefault("keepalives", 1)
        cparams.setdefault("keepalives_idle", 30)
        cparams.setdefault("keepalives_interval", 5)
        cparams.setdefault("keepalives_count", 3)
        connection = BoundedConnection.connect(*cargs, **cparams)
        connection.reply_timeout = timeout
        return connection

    return connect


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
    """Apply the migrations to the app's database, on an engine of their own without the
    request-sized timeouts (a migration may run long)."""
    engine = make_engine(app.config["DATABASE_URL"], timeout=None)
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        engine.dispose()
