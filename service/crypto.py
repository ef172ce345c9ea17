"""Encryption at rest of Immich API keys: MultiFernet, each ciphertext bound to its owner."""

from __future__ import annotations

import uuid

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.config import ConfigError


class KeyUnreadable(Exception):
    """The ciphertext was not made by any configured key for this owner."""


class KeyRing:
    """The configured Fernet keys, newest first. Encrypts with the newest, reads with any."""

    def __init__(self, keys_csv: str) -> None:
        keys = [key.strip() for key in keys_csv.split(",") if key.strip()]
        if not keys:
            raise ConfigError("ENCRYPTION_KEYS is empty: give at least one Fernet key")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise ConfigError(
                    f"ENCRYPTION_KEYS entry {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with "
                    "`flask --app wsgi generate-key`)"
                ) from None
        self._multi = MultiFernet(fernets)

    def encrypt(self, owner_id: uuid.UUID, secret: str) -> str:
        return self._multi.encrypt(_bind(owner_id, secret)).decode("ascii")

    def decrypt(self, owner_id: uuid.UUID, ciphertext: str) -> str:
        try:
            plain = self._multi.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise KeyUnreadable() from None
        prefix = _bind(owner_id, "")
        if not plain.startswith(prefix):
            raise KeyUnreadable()
        return plain[len(prefix) :].decode("utf-8")

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key, keeping the owner binding."""
        try:
            return self._multi.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise KeyUnreadable() from None

    def __repr__(self) -> str:
        return "<KeyRing>"


def _bind(owner_id: uuid.UUID, secret: str) -> bytes:
    # The owner's id travels inside the authenticated plaintext: a row copied onto
    # another user's account fails this check.
    return f"{owner_id}\n{secret}".encode()
