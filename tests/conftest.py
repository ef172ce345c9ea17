"""Shared fixtures: an app on a real database (SQLite always; PostgreSQL and Redis when
TEST_POSTGRES_URL and TEST_REDIS_URL are set, which CI requires), and an auth helper."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher, profiles
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import create_engine, inspect, text

from fake_immich import ALICE_KEY, FakeImmich
from service import create_app
from service.auth import passwords
from service.components import components
from service.db import alembic_config, make_engine, upgrade_database
from service.extensions import db

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

if IN_CI and not (POSTGRES_URL and REDIS_URL):
    raise pytest.UsageError("CI must set TEST_POSTGRES_URL and TEST_REDIS_URL: nothing may be skipped there")

BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL and REDIS_URL else [])

TEST_KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrate_to_head(url: str) -> None:
    engine = make_engine(url, timeout=None)
    try:
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the migration scripts once."""
    return ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_current_head()


def empty_postgres_at_head(url: str) -> None:
    """The database emptied, every migration applied: its tables truncated when the schema is
    at head already (a few milliseconds), else dropped and migrated again."""
    engine = create_engine(url)
    head = head_revision()
    try:
        with engine.begin() as conn:
            tables = set(inspect(conn).get_table_names())
            at_head = "alembic_version" in tables and conn.execute(
                text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            if at_head:
                names = ", ".join(f'"{name}"' for name in sorted(tables - {"alembic_version"}))
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    if not at_head:
        reset_postgres(url)
        migrate_to_head(url)


def reset_redis(url: str) -> None:
    client = Redis.from_url(url)
    client.flushdb()
    client.close()


def backend_settings(backend: str, tmp_path: Path) -> dict[str, Any]:
    """The database and Redis settings of a backend (the database itself left as it is)."""
    if backend == "postgres":
        assert POSTGRES_URL and REDIS_URL
        return {"DATABASE_URL": POSTGRES_URL, "REDIS_URL": REDIS_URL}
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "REDIS_URL": None}


def make_app(settings: dict[str, Any], *, migrate: bool = True) -> Flask:
    """The app; `migrate` applies the migrations first (nothing to do on the `settings`
    fixture's database, which has them all)."""
    app = create_app(settings)
    if migrate:
        upgrade_database(app)
    return app


@pytest.fixture(scope="session")
def sqlite_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database with every migration applied, copied for each test that needs one:
    a copy takes a millisecond, the migrations a tenth of a second."""
    path = tmp_path_factory.mktemp("schema") / "app.db"
    migrate_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def quick_passwords(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its cheapest parameters in this process: at the real ones a hash or a check
    costs a tenth of a second, and most tests sign a user or two in. A hash carries its
    parameters, so nothing else changes. Servers started as processes, and tests marked
    real_passwords, keep the real parameters."""
    if request.node.get_closest_marker("real_passwords"):
        return
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", hasher.hash("not a real password"))


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeImmich]:
    """The fake Immich, a real HTTP server on 127.0.0.1, shared by the whole run."""
    server = FakeImmich().start()
    yield server
    server.stop()


@pytest.fixture
def own_fake() -> Iterator[FakeImmich]:
    """A fake of the test's own: the test may change its library."""
    server = FakeImmich().start()
    yield server
    server.stop()


def configure(client: FlaskClient, headers: dict[str, str], fake: FakeImmich, key: str = ALICE_KEY) -> None:
    """Save Immich settings pointing at this fake, through the API."""
    body = {"serverUrl": fake.url, "apiKey": key, "enabled": True}
    response = client.put("/api/users/me/immich-config", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()


def settle(app: Flask, timeout: float = 120.0) -> None:
    """Wait until the app's library index sync has finished."""
    assert components(app).index_syncer.wait_idle(timeout), "the sync did not finish"


@pytest.fixture
def alice_on_own_fake(app: Flask, client: FlaskClient, auth: Auth, own_fake: FakeImmich) -> dict[str, str]:
    """alice signed in, her Immich settings on own_fake and their first sync done: her headers."""
    headers = auth.bearer("alice@example.com")
    configure(client, headers, own_fake)
    settle(app)
    return headers


@pytest.fixture
def fresh_fake(fake: FakeImmich) -> Iterator[FakeImmich]:
    """The shared fake, healthy, with no recorded requests; healthy again afterwards."""
    fake.set_fault(None)
    fake.latency = 0.0
    fake.clear_requests()
    yield fake
    fake.set_fault(None)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, sqlite_at_head: Path) -> dict[str, Any]:
    """The settings of a fresh app on an empty database with every migration applied; Redis
    is emptied too."""
    if backend == "postgres":
        assert POSTGRES_URL and REDIS_URL
        empty_postgres_at_head(POSTGRES_URL)
        reset_redis(REDIS_URL)
    else:
        shutil.copyfile(sqlite_at_head, tmp_path / "app.db")
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hmac",
        "JWT_SECRET_KEY": "test-jwt-secret-key-that-is-long-enough-for-hs256",
        "ENCRYPTION_KEYS": TEST_KEY,
        "ALLOWED_IMMICH_HOSTS": "loopback,private,external",
        # Searches ask the fake directly; tests/test_library_index.py turns the index on.
        "INDEX_ENABLED": "false",
        **backend_settings(backend, tmp_path),
    }


@pytest.fixture
def unmigrated_settings(backend: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings fixture's, on a database without a single table: for the migrations' tests."""
    if backend == "postgres":
        assert POSTGRES_URL
        reset_postgres(POSTGRES_URL)
    else:
        Path(settings["DATABASE_URL"].removeprefix("sqlite:///")).unlink()
    return settings


@pytest.fixture
def app(settings: dict[str, Any]) -> Iterator[Flask]:
    app = make_app(settings, migrate=False)
    yield app
    dispose(app)


def dispose(app: Flask) -> None:
    components(app).close()
    db.bound(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Auth:
    """Registers and signs in users through the real API."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def add_user(self, email: str, password: str = PASSWORD, role: str | None = None) -> str:
        """Create an account directly (as the create-user command does); returns its id."""
        with self.app.app_context():
            from service.auth.accounts import create_user

            return str(create_user(email=email, password=password, role=role).id)

    def register(self, email: str = "alice@example.com", password: str = PASSWORD,
                 name: str | None = "Alice") -> dict[str, Any]:
        response = self.client.post("/api/auth/register", json={"email": email, "password": password, "name": name})
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json()["data"])

    def login(self, email: str = "alice@example.com", password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json()["data"])

    def bearer(self, email: str = "alice@example.com", password: str = PASSWORD) -> dict[str, str]:
        """Create the account if needed and sign in; the Authorization header of the new session."""
        response = self.client.post("/api/auth/login", json={"email": email, "password": password})
        if response.status_code == 401:
            self.add_user(email, password)
            return self.bearer(email, password)
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['data']['accessToken']}"}


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> Auth:
    return Auth(app, client)


def error_of(response: Any) -> str:
    """The envelope's error message, after checking the envelope's shape."""
    body = response.get_json()
    assert body is not None, f"not JSON: {response.data[:200]!r}"
    assert body["success"] is False and set(body) - {"code"} == {"success", "error"}, body
    assert isinstance(body["error"], str) and body["error"]
    return str(body["error"])
