"""Each user's Immich settings, with the API key encrypted at rest and a version that is new
on every save."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from service.components import components
from service.crypto import KeyUnreadable
from service.errors import AppError
from service.extensions import db
from service.immich.client import ImmichClient
from service.immich.url_policy import check_server_url
from service.models import ImmichConfig, LibraryAsset, utcnow


class NotConfigured(AppError):
    """The user has no usable Immich settings; the message says what to do."""

    status = 409
    code = "immich_not_configured"
    message = "Immich is not configured for this account: add your server URL and API key in Settings"


class Disabled(NotConfigured):
    code = "immich_disabled"
    message = "Immich is disabled for this account: enable it in Settings"


class KeyNotReadable(NotConfigured):
    code = "immich_key_unreadable"
    message = "The stored Immich API key cannot be read: save your API key again in Settings"


@dataclass(frozen=True)
class Credentials:
    server_url: str
    api_key: str
    version: str  # of the saved settings; caches key their entries by it

    def __repr__(self) -> str:
        return f"<Credentials {self.server_url}>"


class CredentialCache:
    """Decrypted credentials in this process's memory, so a thumbnail costs no decryption.

    An entry answers only for its user and the settings version and ciphertext it was
    decrypted from. Both come with every signed-in request's one database read (the user and
    settings are loaded together), so a save in any process, or a ciphertext changed behind
    the service's back, makes the entry unused at once; a save, delete or logout here drops
    it, and it is dropped after `ttl` seconds anyway.
    """

    def __init__(self, *, ttl: float = 60.0, max_users: int = 1024) -> None:
        self._ttl = ttl
        self._max_users = max_users
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str, Credentials]] = OrderedDict()

    def get(self, user_id: uuid.UUID | str, version: str, ciphertext: str) -> Credentials | None:
        with self._lock:
            found = self._entries.get(str(user_id))
        if found is None or time.monotonic() - found[0] > self._ttl:
            return None
        _, source, kept = found
        return kept if kept.version == version and source == ciphertext else None

    def put(self, user_id: uuid.UUID | str, ciphertext: str, credentials: Credentials) -> None:
        with self._lock:
            self._entries[str(user_id)] = (time.monotonic(), ciphertext, credentials)
            self._entries.move_to_end(str(user_id))
            while len(self._entries) > self._max_users:
                self._entries.popitem(last=False)

    def drop(self, user_id: uuid.UUID | str) -> None:
        with self._lock:
            self._entries.pop(str(user_id), None)


def get_settings(user_id: uuid.UUID) -> ImmichConfig | None:
    # Usually no query: signing the request in loaded the user's settings with the user.
    return db.session.get(ImmichConfig, user_id)


def describe(settings: ImmichConfig | None) -> dict[str, object] | None:
    if settings is None:
        return None
    return {"serverUrl": settings.server_url, "enabled": settings.enabled}


def check_url(server_url: str) -> str:
    """The normalised URL if the policy allows its every address; UrlRefused otherwise."""
    upstreams = components().upstreams
    return check_server_url(server_url, upstreams.policy, upstreams.resolver).url


def save_settings(*, user_id: uuid.UUID, server_url: str, api_key: str, enabled: bool) -> None:
    """Check the URL, encrypt the key and store both, under a new version, in one row."""
    old = get_settings(user_id)
    retired = old.version if old else None
    values = {
        "user_id": user_id,
        "server_url": check_url(server_url),
        "api_key_ciphertext": components().key_ring.encrypt(user_id, api_key.strip()),
        "enabled": enabled,
        "version": uuid.uuid4().hex,
        "updated_at": utcnow(),
    }
    # One INSERT ... ON CONFLICT DO UPDATE writing every column: concurrent saves leave
    # one whole body's values, never a mix of two.
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ImmichConfig).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[ImmichConfig.user_id],
        set_={name: statement.excluded[name] for name in values if name != "user_id"},
    )
    db.session.execute(statement)
    db.session.commit()
    _forget(user_id, retired)


def update_settings(
    *, user_id: uuid.UUID, server_url: str | None, api_key: str | None, enabled: bool | None
) -> None:
    """Change the given fields of the stored settings, keeping the stored key when none is
    given; a new version as on every save. NotConfigured when nothing is stored."""
    row = db.session.get(ImmichConfig, user_id, with_for_update=True)
    if row is None:
        db.session.rollback()
        raise NotConfigured()
    retired = row.version
    if server_url is not None:
        row.server_url = check_url(server_url)
    if api_key is not None:
        row.api_key_ciphertext = components().key_ring.encrypt(user_id, api_key.strip())
    if enabled is not None:
        row.enabled = enabled
    row.version = uuid.uuid4().hex
    row.updated_at = utcnow()
    db.session.commit()
    _forget(user_id, retired)


def delete_settings(user_id: uuid.UUID) -> None:
    old = get_settings(user_id)
    retired = old.version if old else None
    db.session.execute(delete(ImmichConfig).where(ImmichConfig.user_id == user_id))
    # The library index's rows have no foreign key to cascade (see LibraryAsset). After the
    # settings: a sync writing at this moment has its state row, which went with them, and
    # commits its rows only if that is still there (on PostgreSQL, this statement sees them).
    db.session.execute(delete(LibraryAsset).where(LibraryAsset.user_id == user_id))
    db.session.commit()
    _forget(user_id, retired)


def _forget(user_id: uuid.UUID, retired_version: str | None) -> None:
    """What was kept for the old settings goes with them: the decrypted key held in this
    process, and the user's thumbnails on disk (shared by every process)."""
    found = components()
    found.credentials.drop(user_id)
    if found.thumbnail_cache is not None:
        found.thumbnail_cache.drop_user(str(user_id), retired_version)


def credentials(user_id: uuid.UUID) -> Credentials:
    """The stored URL, decrypted key and version of an enabled configuration, or NotConfigured."""
    return credentials_of(user_id, get_settings(user_id))


def credentials_of(user_id: uuid.UUID, row: Any) -> Credentials:
    """credentials() of a row already read: an ImmichConfig, or any row with its server_url,
    api_key_ciphertext, enabled and version (all None when there are no settings)."""
    if row is None or row.version is None:
        raise NotConfigured()
    if not row.enabled:
        raise Disabled()
    cache = components().credentials
    found = cache.get(user_id, row.version, row.api_key_ciphertext)
    if found is not None:
        return found
    try:
        api_key = components().key_ring.decrypt(user_id, row.api_key_ciphertext)
    except KeyUnreadable:
        raise KeyNotReadable() from None
    found = Credentials(row.server_url, api_key, row.version)
    cache.put(user_id, row.api_key_ciphertext, found)
    return found


def live_versions() -> set[tuple[str, str]] | None:
    """(user id, version) of every stored configuration; None when the database cannot say."""
    try:
        rows = db.session.execute(select(ImmichConfig.user_id, ImmichConfig.version)).all()
    except SQLAlchemyError:
        return None
    return {(str(user_id), version) for user_id, version in rows}


def client_with(credentials: Credentials) -> ImmichClient:
    return components().upstreams.client(credentials.server_url, credentials.api_key)


def client_for(user_id: uuid.UUID) -> ImmichClient:
    return client_with(credentials(user_id))


def rotate_all_keys() -> int:
    """Re-encrypt every stored key under the newest encryption key; returns the count."""
    ring = components().key_ring
    rows = db.session.scalars(select(ImmichConfig).with_for_update()).all()
    for row in rows:
        row.api_key_ciphertext = ring.rotate(row.api_key_ciphertext)
    db.session.commit()
    return len(rows)
