"""Each user's Immich settings, with the API key encrypted at rest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.crypto import KeyRing, KeyUnreadable
from service.extensions import db
from service.immich.client import ImmichClient, Upstreams
from service.immich.url_policy import check_server_url
from service.models import ImmichConfig, utcnow


class NotConfigured(Exception):
    """The user has no usable Immich settings; the message says what to do."""


@dataclass(frozen=True)
class Credentials:
    server_url: str
    api_key: str

    def __repr__(self) -> str:
        return f"<Credentials {self.server_url}>"


def key_ring() -> KeyRing:
    ring: KeyRing = current_app.extensions["key_ring"]
    return ring


def upstreams() -> Upstreams:
    found: Upstreams = current_app.extensions["upstreams"]
    return found


def get_config(user_id: uuid.UUID) -> ImmichConfig | None:
    return db.session.get(ImmichConfig, user_id)


def describe(config: ImmichConfig | None) -> dict[str, object] | None:
    if config is None:
        return None
    return {"serverUrl": config.server_url, "enabled": config.enabled}


def check_url(server_url: str) -> str:
    """The normalised URL if the policy allows its every address; UrlRefused otherwise."""
    found = upstreams()
    return check_server_url(server_url, found.policy, found.resolver).url


def save_config(*, user_id: uuid.UUID, server_url: str, api_key: str, enabled: bool) -> None:
    """Check the URL, encrypt the key and store both in one row."""
    values = {
        "user_id": user_id,
        "server_url": check_url(server_url),
        "api_key_ciphertext": key_ring().encrypt(user_id, api_key.strip()),
        "enabled": enabled,
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


def delete_config(user_id: uuid.UUID) -> None:
    db.session.execute(delete(ImmichConfig).where(ImmichConfig.user_id == user_id))
    db.session.commit()


def credentials(user_id: uuid.UUID) -> Credentials:
    """The stored URL and decrypted key of an enabled configuration, or NotConfigured."""
    row = get_config(user_id)
    if row is None:
        raise NotConfigured(
            "Immich is not configured for this account: add your server URL and API key in Settings"
        )
    if not row.enabled:
        raise NotConfigured("Immich is disabled for this account: enable it in Settings")
    try:
        api_key = key_ring().decrypt(user_id, row.api_key_ciphertext)
    except KeyUnreadable:
        raise NotConfigured(
            "The stored Immich API key cannot be read: save your API key again in Settings"
        ) from None
    return Credentials(row.server_url, api_key)


def client_for(user_id: uuid.UUID) -> ImmichClient:
    creds = credentials(user_id)
    return upstreams().client(creds.server_url, creds.api_key)


def rotate_all_keys() -> int:
    """Re-encrypt every stored key under the newest encryption key; returns the count."""
    ring = key_ring()
    rows = db.session.scalars(select(ImmichConfig).with_for_update()).all()
    for row in rows:
        row.api_key_ciphertext = ring.rotate(row.api_key_ciphertext)
    db.session.commit()
    return len(rows)
