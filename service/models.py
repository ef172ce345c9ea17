"""The tables: accounts, their Immich settings, revoked login sessions, and the library index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_identity"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="USER")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The OpenID Connect identity this account signs in as (issuer and subject, together unique).
    oidc_issuer: Mapped[str | None] = mapped_column(String(512))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))

    def to_dict(self) -> dict[str, str | None]:
        return {"id": str(self.id), "email": self.email, "name": self.name, "role": self.role}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ImmichConfig(Base):
    __tablename__ = "immich_configs"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    server_url: Mapped[str] = mapped_column(String(2048))
    api_key_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # New on every save: what caches key their entries by.
    version: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        # Never the key, not even encrypted.
        return f"<ImmichConfig user={self.user_id} enabled={self.enabled}>"


class RevokedSession(Base):
    """A logged-out login: both its access and refresh tokens carry this session id."""

    __tablename__ = "revoked_sessions"

    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class LibraryAsset(Base):
    """One asset of a user's Immich library, as the index keeps it. Removed with the
    user's Immich settings (the foreign key cascades)."""

    __tablename__ = "library_assets"
    __table_args__ = (
        Index("ix_library_assets_user_time", "user_id", "file_created_ms"),
        Index("ix_library_assets_user_bucket", "user_id", "bucket"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    # Immich's fileCreatedAt (what its date filters use) and the shown capture time
    # (exif dateTimeOriginal, else fileCreatedAt), in milliseconds since the epoch, UTC.
    file_created_ms: Mapped[int | None] = mapped_column(BigInteger)
    taken_ms: Mapped[int | None] = mapped_column(BigInteger)
    local_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    bucket: Mapped[str | None] = mapped_column(String(7))  # Immich's month bucket: local YYYY-MM
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    original_file_name: Mapped[str | None] = mapped_column(String(1024))
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(255))
    is_favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    thumbhash: Mapped[str | None] = mapped_column(String(128))
    updated_ms: Mapped[int | None] = mapped_column(BigInteger)  # Immich's updatedAt


class LibraryIndexState(Base):
    """Where a user's index stands, and who may sync it (a lease with an expiry)."""

    __tablename__ = "library_index_states"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    # Whose library the rows are: Immich's user id (or a digest of server and key when the
    # key may not read it), and the settings version that was checked against it.
    owner_identity: Mapped[str | None] = mapped_column(String(128))
    verified_version: Mapped[str | None] = mapped_column(String(32))
    ready: Mapped[bool] = mapped_column(Boolean, default=False)  # a first full sync finished
    indexed_count: Mapped[int] = mapped_column(Integer, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    high_water_ms: Mapped[int | None] = mapped_column(BigInteger)  # newest updatedAt seen
    last_error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
