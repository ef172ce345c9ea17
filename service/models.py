"""The tables: accounts, their Immich settings, revoked login sessions, sign-in attempts, the
claim of the first account, the library index, shares and privacy zones, and location history
(tracks, their settings and write-backs) with trip overrides."""

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
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
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
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_identity"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="USER")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Loaded with the user in one read (a LEFT JOIN): a signed-in request that needs the
    # Immich settings, a thumbnail above all, then reads the database only once.
    immich_config: Mapped[ImmichConfig | None] = relationship(lazy="joined", viewonly=True)
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
    """One asset of a user's Immich library, as the index keeps it. Removed with the user's
    Immich settings, by the statement that deletes them, not by a foreign key: PostgreSQL
    checks one for every row written, a third of the time of writing a first sync's rows.
    A sync commits rows only while the state row it holds (which does cascade) is there."""

    __tablename__ = "library_assets"
    __table_args__ = (
        Index("ix_library_assets_user_time", "user_id", "file_created_ms"),
        Index("ix_library_assets_user_bucket", "user_id", "bucket"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
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


class LibrarySnapshot(Base):
    """The map's columns of a user's index (ids, positions, times) packed, a few dozen bytes
    a photo, in parts of PART_PHOTOS: a process that has not read the index since it changed
    reads these instead of walking every row. Written by the sync that changed the rows, in
    the transaction that says so; removed with the user's Immich settings (the foreign key
    cascades)."""

    __tablename__ = "library_snapshots"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(64))  # of the index's rows it was packed from
    photos: Mapped[int] = mapped_column(Integer)
    packed: Mapped[bytes] = mapped_column(LargeBinary)


class FirstAccount(Base):
    """One row, inserted with the first account ever made. Its primary key lets exactly one of
    several sign-ups at once on a fresh install (in any process) become that first ADMIN."""

    __tablename__ = "first_account"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginAttempt(Base):
    """A failed sign-in, or one under way: what sign-in throttling counts, in every process."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch


class Share(Base):
    """A read-only link to a range (and optionally a circle) of its owner's photos. Only the
    token's SHA-256 is kept; revoking deletes the row."""

    __tablename__ = "shares"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    allow_download: Mapped[bool] = mapped_column(Boolean, default=False)
    location_precision: Mapped[str] = mapped_column(String(8), default="exact")
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<Share {self.id} owner={self.owner_id}>"


class PrivacyZone(Base):
    """A circle of the owner's whose photos no share ever shows."""

    __tablename__ = "privacy_zones"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)


class Track(Base):
    """One imported location history (a GPX, GeoJSON or Google Takeout file): its name and
    time span. The points live in track_chunks. Removed with the user's Immich settings."""

    __tablename__ = "tracks"
    __table_args__ = (Index("ix_tracks_user_time", "user_id", "started_ms"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    point_count: Mapped[int] = mapped_column(Integer)
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrackChunk(Base):
    """Up to 65,536 consecutive points of a track, packed: int64 milliseconds since the
    epoch and int32 latitude/longitude in 1e-7 degrees (about 1 cm), little-endian. Nothing
    else of the file (speeds, elevations, accuracies, place visits) is kept."""

    __tablename__ = "track_chunks"
    __table_args__ = (Index("ix_track_chunks_user_time", "user_id", "started_ms", "ended_ms"),)

    track_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"))
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int] = mapped_column(BigInteger)
    point_count: Mapped[int] = mapped_column(Integer)
    times: Mapped[bytes] = mapped_column(LargeBinary)
    latitudes: Mapped[bytes] = mapped_column(LargeBinary)
    longitudes: Mapped[bytes] = mapped_column(LargeBinary)


class TrackSettings(Base):
    """The camera clock offset a user set (null: fitted), and the last fit with what it was
    fitted from (a digest of the tracks and the index), so it is redone only when either changes."""

    __tablename__ = "track_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    camera_clock_offset_seconds: Mapped[int | None] = mapped_column(Integer)
    fitted_offset_seconds: Mapped[int | None] = mapped_column(Integer)
    fitted_from_photos: Mapped[int] = mapped_column(Integer, default=0)
    fitted_key: Mapped[str | None] = mapped_column(String(64))


class TrackWriteback(Base):
    """An estimated position written to Immich at the user's request, with the position the
    asset had before, so that it can be undone."""

    __tablename__ = "track_writebacks"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    previous_latitude: Mapped[float | None] = mapped_column(Float)
    previous_longitude: Mapped[float | None] = mapped_column(Float)
    written_latitude: Mapped[float] = mapped_column(Float)
    written_longitude: Mapped[float] = mapped_column(Float)
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TripOverride(Base):
    """A user's own name for a detected trip, or its being hidden."""

    __tablename__ = "trip_overrides"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"), primary_key=True
    )
    trip_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class TripEdit(Base):
    """A merge (the trips meeting [start_ms, end_ms] become one) or a split (at start_ms),
    replayed in order over the detected trips."""

    __tablename__ = "trip_edits"
    __table_args__ = (Index("ix_trip_edits_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("immich_configs.user_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "merge" | "split"
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
