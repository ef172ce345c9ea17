"""`flask --app wsgi doctor`: checks a deployment before it serves, and says what to fix.

Reports never show a URL, host, password, key or stored value: only what is wrong and
which setting or command fixes it.
"""

from __future__ import annotations

import sqlite3
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.components import components
from service.crypto import KeyRing, KeyUnreadable
from service.db import Database, alembic_config
from service.models import ImmichConfig

MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # passes, but the operator should act

    @property
    def label(self) -> str:
        if not self.ok:
            return "FAIL"
        return "warn" if self.warning else "ok"


def _engine(app: Flask) -> Engine:
    engine: Engine = Database.bound(app).engine
    return engine


def check_settings(app: Flask) -> Check:
    env = "production" if app.config["PRODUCTION"] else "development"
    return Check("settings", True, f"loaded (PHOTO_ATLAS_ENV={env})")


def check_database(app: Flask) -> Check:
    engine = _engine(app)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return Check("database", False, f"unreachable ({type(exc).__name__}): check DATABASE_URL")
    backend = engine.dialect.name
    if backend == "sqlite" and app.config["PRODUCTION"]:
        return Check("database", True, "reachable (sqlite): use PostgreSQL to run several instances",
                     warning=True)
    return Check("database", True, f"reachable ({backend})")


def check_migrations(app: Flask) -> Check:
    engine = _engine(app)
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except (SQLAlchemyError, OSError):
        return Check("migrations", False, "not checked: the database is unreachable")
    wanted = ", ".join(sorted(heads))
    if current == heads:
        return Check("migrations", True, f"at head ({wanted})")
    found = f"at {', '.join(sorted(current))}" if current else "none applied"
    return Check("migrations", False,
                 f"{found}, head is {wanted}: run `flask --app wsgi db-upgrade`")


def check_encryption(app: Flask) -> Check:
    ring: KeyRing = components(app).key_ring
    owner = uuid.uuid4()
    probe = uuid.uuid4().hex
    try:
        usable = ring.decrypt(owner, ring.encrypt(owner, probe)) == probe
    except KeyUnreadable:
        usable = False
    if not usable:
        return Check("encryption keys", False, "a probe did not survive encrypt and decrypt")
    count = len(_keys(app))
    return Check("encryption keys", True, f"{count} key(s) configured, newest encrypts")


def _keys(app: Flask) -> list[str]:
    return [key.strip() for key in app.config["ENCRYPTION_KEYS"].split(",") if key.strip()]


def check_stored_keys(app: Flask) -> Check:
    """Every stored Immich API key must decrypt; only counts are reported."""
    engine = _engine(app)
    ring: KeyRing = components(app).key_ring
    newest = Fernet(_keys(app)[0])
    try:
        if not inspect(engine).has_table(ImmichConfig.__tablename__):
            return Check("stored API keys", False, "not checked: the database is not migrated")
        with Session(engine) as session:
            rows = session.execute(select(ImmichConfig.user_id, ImmichConfig.api_key_ciphertext)).all()
    except (SQLAlchemyError, OSError):
        return Check("stored API keys", False, "not checked: the database is unreachable")
    unreadable = older = 0
    for user_id, ciphertext in rows:
        try:
            ring.decrypt(user_id, ciphertext)
        except KeyUnreadable:
            unreadable += 1
            continue
        try:
            newest.decrypt(ciphertext.encode("ascii"))
        except InvalidToken:
            older += 1
    if unreadable:
        return Check(
            "stored API keys", False,
            f"{unreadable} of {len(rows)} cannot be read with ENCRYPTION_KEYS: restore the key they "
            "were made with, or those users must save their Immich API key again",
        )
    if older:
        return Check("stored API keys", True,
                     f"all {len(rows)} readable, {older} under an older key: run `flask --app wsgi rotate-key`",
                     warning=True)
    return Check("stored API keys", True, f"all {len(rows)} readable" if rows else "none stored yet")


def check_redis(app: Flask) -> Check:
    redis = components(app).redis
    if redis is None:
        if app.config["PRODUCTION"]:
            return Check("redis", True, "REDIS_URL not set: each process keeps its own search cache",
                         warning=True)
        return Check("redis", True, "not configured")
    try:
        redis.ping()
    except (RedisError, OSError) as exc:
        return Check("redis", False, f"unreachable ({type(exc).__name__}): check REDIS_URL")
    return Check("redis", True, "reachable")


def check_thumbnail_cache(app: Flask) -> Check:
    cache = components(app).thumbnail_cache
    if cache is None:
        return Check("thumbnail cache", True, "off (THUMBNAIL_CACHE_MB=0): every thumbnail comes from Immich")
    if not cache.usable:
        return Check("thumbnail cache", True, "its folder cannot be written: check THUMBNAIL_CACHE_DIR "
                     "(thumbnails are proxied without it)", warning=True)
    try:
        used, entries = cache.usage()
    except sqlite3.Error as exc:
        return Check("thumbnail cache", True, f"its index cannot be read ({type(exc).__name__}): "
                     "check THUMBNAIL_CACHE_DIR", warning=True)
    limit = app.config["THUMBNAIL_CACHE_MB"]
    return Check("thumbnail cache", True, f"{used / (1 << 20):.1f} MiB of {limit} MiB in {entries} thumbnail(s)")


def check_secrets(app: Flask) -> Check:
    if not app.config["PRODUCTION"]:
        return Check("secrets", True, "development: generated into the instance folder")
    short = [name for name in ("SECRET_KEY", "JWT_SECRET_KEY")
             if len(app.config[name] or "") < MIN_SECRET_LENGTH]
    if short:
        return Check("secrets", False,
                     f"{' and '.join(short)} shorter than {MIN_SECRET_LENGTH} characters")
    if app.config["SECRET_KEY"] == app.config["JWT_SECRET_KEY"]:
        return Check("secrets", True, "SECRET_KEY and JWT_SECRET_KEY are the same: give each its own",
                     warning=True)
    return Check("secrets", True, "SECRET_KEY, JWT_SECRET_KEY and ENCRYPTION_KEYS given")


def check_cookies(app: Flask) -> Check:
    if app.config["PRODUCTION"] and not app.config["JWT_COOKIE_SECURE"]:
        return Check("cookies", True, "COOKIE_SECURE=false: set it to true when served over https",
                     warning=True)
    return Check("cookies", True, f"Secure flag {'on' if app.config['JWT_COOKIE_SECURE'] else 'off'}")


CHECKS: tuple[Callable[[Flask], Check], ...] = (
    check_settings,
    check_database,
    check_migrations,
    check_encryption,
    check_stored_keys,
    check_redis,
    check_thumbnail_cache,
    check_secrets,
    check_cookies,
)


def run_checks(app: Flask) -> list[Check]:
    """Run every check in order; none raises."""
    with app.app_context():
        return [check(app) for check in CHECKS]


def report(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"{check.label:<5} {check.name:<{width}}  {check.detail}" for check in checks]
    failed = sum(not check.ok for check in checks)
    warned = sum(check.ok and check.warning for check in checks)
    if failed:
        lines.append(f"{failed} check(s) failed.")
    else:
        lines.append("All checks passed" + (f", {warned} warning(s)." if warned else "."))
    return "\n".join(lines)


def register_doctor(app: Flask) -> None:
    @app.cli.command("doctor")
    def doctor() -> None:
        """Check settings, database, migrations, keys and Redis; exit 1 if any check fails."""
        checks = run_checks(current_app._get_current_object())  # type: ignore[attr-defined]
        click.echo(report(checks))
        if any(not check.ok for check in checks):
            sys.exit(1)
