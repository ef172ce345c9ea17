"""The owner's side of shares: creating, listing, extending and revoking links, and the
privacy zones no share ever shows. Only a token's SHA-256 is stored.

A share may name one of the owner's detected trips (GET .../trips) instead of its dates: it
then covers the trip's first to last day, and is otherwise a share like any other (the trip
itself is not kept: renaming, splitting or hiding it later leaves the share as it was)."""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from service.auth.passwords import hash_password
from service.errors import AppError, InvalidInput
from service.extensions import db
from service.models import PrivacyZone, Share
from service.photos.search import iso_utc, parse_datetime
from service.trips import trip_service

PRECISIONS = {"exact": None, "100m": 3, "1km": 2}  # decimals kept of each coordinate
MAX_SHARES = 200
MAX_ZONES = 50
MAX_ZONE_RADIUS_M = 100_000.0
MAX_SHARE_RADIUS_M = 20_037_508.0  # half the Earth's circumference
CREATE_FIELDS = {"name", "startDate", "endDate", "tripId", "latitude", "longitude", "radiusMeters", "expiresAt",
                 "password", "allowDownload", "locationPrecision"}
PATCH_FIELDS = {"name", "expiresAt"}
UNKNOWN_TRIP = "tripId must name one of your trips (GET /api/users/me/trips lists them)"


class ShareNotFound(AppError):
    status = 404
    message = "No such share"


class TooManyShares(AppError):
    status = 409
    message = f"You have {MAX_SHARES} shares already; revoke some first"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(body: dict[str, Any], name: str, *, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required and must be a non-empty string")
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(f"{name} must be at most {max_length} characters, without NUL")
    return value.strip()


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise InvalidInput(f"{name} must be a number between {low:g} and {high:g}")
    return float(value)


def _date(body: dict[str, Any], name: str) -> datetime:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} is required (ISO 8601 with a timezone, e.g. 2024-06-01T00:00:00Z)")
    return parse_datetime(name, value)


def _expiry(body: dict[str, Any], max_days: int) -> datetime:
    expires = _date(body, "expiresAt")
    now = _now()
    if expires <= now:
        raise InvalidInput("expiresAt must be in the future")
    if expires > now + timedelta(days=max_days):
        raise InvalidInput(f"expiresAt must be at most {max_days} days ahead")
    return expires


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise InvalidInput(f"Unknown field: {extra[0]}")


def _circle(body: dict[str, Any]) -> tuple[float, float, float] | tuple[None, None, None]:
    names = ("latitude", "longitude", "radiusMeters")
    given = [name for name in names if body.get(name) is not None]
    if not given:
        return None, None, None
    if len(given) != 3:
        raise InvalidInput("latitude, longitude and radiusMeters go together")
    radius = _number(body, "radiusMeters", 0, MAX_SHARE_RADIUS_M)
    if radius <= 0:
        raise InvalidInput("radiusMeters must be greater than 0")
    return _number(body, "latitude", -90, 90), _number(body, "longitude", -180, 180), radius


def _dates(body: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The share's range as sent, or None when it names a trip instead."""
    if "tripId" in body:
        if "startDate" in body or "endDate" in body:
            raise InvalidInput("Send tripId or startDate and endDate, not both: a trip's share covers its own days")
        if not isinstance(body["tripId"], str):
            raise InvalidInput(UNKNOWN_TRIP)
        return None
    start, end = _date(body, "startDate"), _date(body, "endDate")
    if start > end:
        raise InvalidInput("startDate must not be after endDate")
    return start, end


def _trip_days(owner_id: uuid.UUID, trip_id: str) -> tuple[datetime, datetime]:
    found = trip_service.trip_days(user_id=owner_id, trip_id=trip_id)
    if found is None:
        raise InvalidInput(UNKNOWN_TRIP)
    return found


def _options(body: dict[str, Any]) -> tuple[str | None, bool, str]:
    password = body.get("password")
    if password is not None and (not isinstance(password, str) or not 4 <= len(password) <= 1024):
        raise InvalidInput("password must be a string of 4 to 1024 characters")
    allow_download = body.get("allowDownload", False)
    if not isinstance(allow_download, bool):
        raise InvalidInput("allowDownload must be true or false")
    precision = body.get("locationPrecision", "exact")
    if precision not in PRECISIONS:
        raise InvalidInput("locationPrecision must be exact, 100m or 1km")
    return password, allow_download, precision


def describe(share: Share, url: str | None = None) -> dict[str, Any]:
    expires = as_utc(share.expires_at)
    return {
        "id": str(share.id), "url": url, "name": share.name,
        "startDate": iso_utc(as_utc(share.start_at)), "endDate": iso_utc(as_utc(share.end_at)),
        "latitude": share.latitude, "longitude": share.longitude, "radiusMeters": share.radius_m,
        "expiresAt": iso_utc(expires), "allowDownload": share.allow_download,
        "locationPrecision": share.location_precision, "hasPassword": share.password_hash is not None,
        "viewCount": share.view_count, "createdAt": iso_utc(as_utc(share.created_at)),
        "expired": expires <= _now(),
    }


def create_share(*, owner_id: uuid.UUID, body: dict[str, Any], max_days: int) -> dict[str, Any]:
    """A new share of a range of dates, or of one of the owner's trips (its first to last day);
    its link is in this answer only (the token itself is never stored)."""
    _unknown(body, CREATE_FIELDS)
    name = _text(body, "name", max_length=200)
    dates = _dates(body)
    latitude, longitude, radius = _circle(body)
    expires = _expiry(body, max_days)
    password, allow_download, precision = _options(body)
    session = db.session
    if (session.scalar(select(func.count()).select_from(Share).where(Share.owner_id == owner_id)) or 0) >= MAX_SHARES:
        raise TooManyShares()
    start, end = dates or _trip_days(owner_id, body["tripId"])
    token = secrets.token_urlsafe(24)  # 192 bits
    share = Share(owner_id=owner_id, token_hash=token_hash(token), name=name, start_at=start, end_at=end,
                  latitude=latitude, longitude=longitude, radius_m=radius, expires_at=expires,
                  password_hash=hash_password(password) if password else None,
                  allow_download=allow_download, location_precision=precision, view_count=0,
                  created_at=_now())
    session.add(share)
    session.commit()
    return describe(share, f"/s/{token}")


def list_shares(*, owner_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every share of the owner's, live and expired, newest first (revoked ones are gone)."""
    rows = db.session.scalars(select(Share).where(Share.owner_id == owner_id)
                              .order_by(Share.created_at.desc(), Share.id))
    return [describe(share) for share in rows]


def parse_share_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput("shareId must be a UUID") from None


def _owned(owner_id: uuid.UUID, share_id: uuid.UUID) -> Share:
    share = db.session.scalar(select(Share).where(Share.id == share_id, Share.owner_id == owner_id))
    if share is None:
        raise ShareNotFound()
    return share


def update_share(*, owner_id: uuid.UUID, share_id: uuid.UUID, body: dict[str, Any],
                 max_days: int) -> dict[str, Any]:
    """Rename a share or move its expiry (extend it, or end it sooner)."""
    _unknown(body, PATCH_FIELDS)
    if not body:
        raise InvalidInput("Send name or expiresAt")
    name = _text(body, "name", max_length=200) if "name" in body else None
    expires = _expiry(body, max_days) if "expiresAt" in body else None
    share = _owned(owner_id, share_id)
    share.name = name or share.name
    share.expires_at = expires or share.expires_at
    db.session.commit()
    return describe(share)


def revoke_share(*, owner_id: uuid.UUID, share_id: uuid.UUID) -> None:
    """Delete the share: its link stops working on every instance at once."""
    _owned(owner_id, share_id)
    db.session.execute(delete(Share).where(Share.id == share_id, Share.owner_id == owner_id))
    db.session.commit()


# ------------------------------------------------------------------ privacy zones


def _zone_dict(zone: PrivacyZone) -> dict[str, Any]:
    return {"name": zone.name, "latitude": zone.latitude, "longitude": zone.longitude,
            "radiusMeters": zone.radius_m}


def zones_of(user_id: uuid.UUID) -> list[PrivacyZone]:
    return list(db.session.scalars(select(PrivacyZone).where(PrivacyZone.user_id == user_id)
                                   .order_by(PrivacyZone.position)))


def privacy_zones(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return [_zone_dict(zone) for zone in zones_of(user_id)]


def replace_privacy_zones(*, user_id: uuid.UUID, body: Any) -> list[dict[str, Any]]:
    """The owner's zones, replaced whole."""
    if not isinstance(body, list):
        raise InvalidInput("Send a JSON array of zones")
    if len(body) > MAX_ZONES:
        raise InvalidInput(f"At most {MAX_ZONES} privacy zones")
    zones = []
    for position, item in enumerate(body):
        if not isinstance(item, dict):
            raise InvalidInput(f"zone {position + 1} must be an object")
        _unknown(item, {"name", "latitude", "longitude", "radiusMeters"})
        radius = _number(item, "radiusMeters", 0, MAX_ZONE_RADIUS_M)
        if radius <= 0:
            raise InvalidInput("radiusMeters must be greater than 0")
        zones.append(PrivacyZone(user_id=user_id, position=position, name=_text(item, "name", max_length=200),
                                 latitude=_number(item, "latitude", -90, 90),
                                 longitude=_number(item, "longitude", -180, 180), radius_m=radius))
    session = db.session
    session.execute(delete(PrivacyZone).where(PrivacyZone.user_id == user_id))
    session.add_all(zones)
    session.commit()
    return [_zone_dict(zone) for zone in zones]
