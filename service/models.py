"""The tables: accounts, their Immich settings, and revoked login sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, MetaData, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="USER")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Loaded with the user in one read (a LEFT JOIN): a signed-in request that needs the
    # Immich settings, a thumbnail above all, then reads the database only once.
    immich_config: Mapped[ImmichConfig | None] = relationship(lazy="joined", viewonly=True)

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
