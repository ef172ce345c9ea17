"""The public side of a share: no account, only the token. A share's photos are its owner's
photos in its range (and circle), minus every photo inside a privacy zone, computed on the
server for every request; media is served only for a photo of that same set. Its map (clusters,
counts over time, a cluster's photos) is the owner's, computed over that set alone with every
position rounded to the share's precision first."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update

from service.auth.passwords import verify_password
from service.errors import AppError
from service.extensions import db
from service.immich.client import UpstreamMedia
from service.immich.settings import NotConfigured
from service.models import Share
from service.photos import map_data, photo_service
from service.photos.geo import Circle, rounded
from service.photos.search import PhotoSet, SearchQuery, iso_utc
from service.photos.thumbnail_cache import CachedThumbnail
from service.shares.share_links import PRECISIONS, as_utc, token_hash, zones_of

MAX_TOKEN_LENGTH = 64
UNLOCK_SALT = "share-unlock"
UNLOCK_COOKIE = "share_access"
UNLOCK_SECONDS = 12 * 3600
# Compared against when no share has the token's hash, so a miss costs what a hit does.
_NO_SHARE_HASH = "0" * 64


class ShareMissing(AppError):
    """Unknown and revoked tokens alike: one message, one path."""

    status = 404
    code = "share_not_found"
    message = "This share link does not exist or has been revoked"


class ShareExpired(AppError):
    status = 410
    code = "share_expired"
    message = "This share link has expired"


class ShareUnavailable(AppError):
    status = 410
    code = "share_unavailable"
    message = "The photos of this share are no longer available"


class ShareLocked(AppError):
    # Not 401: the page has no account to refresh, and a 401 would send it to sign-in.
    status = 403
    code = "share_locked"
    message = "This share is protected by a password"


class WrongSharePassword(AppError):
    status = 401
    code = "share_password_wrong"
    message = "Wrong password"


class DownloadNotAllowed(AppError):
    status = 403
    code = "share_download_forbidden"
    message = "The owner of this share does not allow downloads"


class SharePhotoNotFound(AppError):
    status = 404
    message = "Not found"


@dataclass(frozen=True)
class PageState:
    """What the share page shows: "open", "locked", "expired" or "missing"."""

    state: str
    share: Share | None


def _find(token: str) -> Share | None:
    """The share with this token, by its hash; the same work whether one exists or not."""
    wanted = token_hash(token[:MAX_TOKEN_LENGTH + 1])
    share = db.session.scalar(select(Share).where(Share.token_hash == wanted))
    stored = share.token_hash if share is not None else _NO_SHARE_HASH
    matches = hmac.compare_digest(stored, wanted)
    return share if matches and share is not None and len(token) <= MAX_TOKEN_LENGTH else None


def _expired(share: Share) -> bool:
    return as_utc(share.expires_at) <= datetime.now(UTC)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=UNLOCK_SALT)


def _unlocked(share: Share, cookie: str | None, secret_key: str) -> bool:
    if share.password_hash is None:
        return True
    if not cookie:
        return False
    try:
        granted = _serializer(secret_key).loads(cookie, max_age=UNLOCK_SECONDS)
    except BadSignature:
        return False
    # Bound to this share and its password: a cookie of another share opens nothing here.
    return isinstance(granted, str) and hmac.compare_digest(granted, _grant(share))


def _grant(share: Share) -> str:
    return token_hash(f"{share.id}:{share.password_hash}")


def page_state(*, token: str, cookie: str | None, secret_key: str) -> PageState:
    """The page's state; an open page counts as one view of the share."""
    share = _find(token)
    if share is None:
        return PageState("missing", None)
    if _expired(share):
        return PageState("expired", share)
    if not _unlocked(share, cookie, secret_key):
        return PageState("locked", share)
    db.session.execute(update(Share).where(Share.id == share.id).values(view_count=Share.view_count + 1))
    db.session.commit()
    return PageState("open", share)


def page_config(*, share: Share, token: str, locked: bool) -> dict[str, Any]:
    """What the share's page script needs: where its API is, and the dates its map covers."""
    return {"token": token, "name": share.name, "locked": locked, "allowDownload": share.allow_download,
            "startDate": iso_utc(as_utc(share.start_at)), "endDate": iso_utc(as_utc(share.end_at))}


def open_share(*, token: str, cookie: str | None, secret_key: str) -> Share:
    """The live, unlocked share of this token, read from the database on every request."""
    share = _find(token)
    if share is None:
        raise ShareMissing()
    if _expired(share):
        raise ShareExpired()
    if not _unlocked(share, cookie, secret_key):
        raise ShareLocked()
    return share


def unlock(*, token: str, password: str, secret_key: str) -> tuple[str, int]:
    """The signed cookie value that opens this share, and how long it lasts."""
    share = _find(token)
    # A miss verifies against a dummy hash: the answer takes as long either way.
    correct = verify_password(share.password_hash if share is not None else None, password)
    if share is None:
        raise ShareMissing()
    if _expired(share):
        raise ShareExpired()
    if share.password_hash is None:
        return _serializer(secret_key).dumps(_grant(share)), UNLOCK_SECONDS
    if not correct:
        raise WrongSharePassword()
    return _serializer(secret_key).dumps(_grant(share)), UNLOCK_SECONDS


@contextmanager
def _owners_photos() -> Iterator[None]:
    """The owner's settings went: their words (go to Settings) are not for visitors."""
    try:
        yield
    except NotConfigured:
        raise ShareUnavailable() from None


def _scope(share: Share) -> map_data.Scope:
    """What of the owner's library the share shows, and how exactly: its range and circle,
    outside every privacy zone, at its precision."""
    circle = None
    if share.latitude is not None and share.longitude is not None and share.radius_m is not None:
        circle = Circle(share.latitude, share.longitude, share.radius_m)
    zones = tuple(Circle(zone.latitude, zone.longitude, zone.radius_m) for zone in zones_of(share.owner_id))
    return map_data.Scope(start=as_utc(share.start_at), end=as_utc(share.end_at), circle=circle, excluded=zones,
                          decimals=PRECISIONS[share.location_precision])


def _members(share: Share) -> tuple[PhotoSet, list[int]]:
    """The share's photo set and the positions in it that the share shows."""
    query = SearchQuery(as_utc(share.start_at), as_utc(share.end_at), None)
    with _owners_photos():
        photo_set = photo_service.photo_set(owner_id=share.owner_id, query=query)
    keep = _scope(share).keeps(photo_set.latitudes, photo_set.longitudes)
    return photo_set, np.flatnonzero(keep).tolist()


def _rounded(value: float | None, decimals: int | None) -> float | None:
    return None if value is None else float(rounded(np.array([value]), decimals)[0])


def _shared_photo(photo: dict[str, Any], share: Share, token: str) -> dict[str, Any]:
    """A photo as a visitor gets it: URLs under the share, coordinates at its precision."""
    decimals = PRECISIONS[share.location_precision]
    prefix = f"/api/shares/{token}/photos/{photo['id']}"
    return {
        **photo,
        # A city is coarser than a kilometre, so it stays at every precision.
        "latitude": _rounded(photo["latitude"], decimals),
        "longitude": _rounded(photo["longitude"], decimals),
        "thumbnailUrl": f"{prefix}/thumbnail",
        "downloadUrl": f"{prefix}/download" if share.allow_download else None,
    }


def photos(*, share: Share, token: str) -> dict[str, Any]:
    """The share's photos with URLs under the share and coordinates at its precision."""
    photo_set, positions = _members(share)
    found = [_shared_photo(photo_set.photos[position], share, token) for position in positions]
    return {"photos": found, "totalCount": len(found)}


def map_clusters(*, share: Share, query: map_data.MapQuery) -> dict[str, object]:
    """The owner's map clusters, over the share's photos alone, placed at its precision."""
    with _owners_photos():
        return photo_service.map_clusters(owner_id=share.owner_id, query=query, scope=_scope(share))


def map_histogram(*, share: Share, query: map_data.MapQuery) -> dict[str, object]:
    """The owner's counts over time, of the share's photos alone."""
    with _owners_photos():
        return photo_service.map_histogram(owner_id=share.owner_id, query=query, scope=_scope(share))


def map_photos(*, share: Share, token: str, query: map_data.MapQuery) -> dict[str, object]:
    """A page of the share's photos in a view or a cluster, as `photos` gives them."""

    def encode(photo_set: PhotoSet, positions: list[int]) -> list[Any]:
        return [_shared_photo(photo_set.photos[position], share, token) for position in positions]

    with _owners_photos():
        return photo_service.map_photos(owner_id=share.owner_id, query=query, scope=_scope(share), encode=encode)


def _member(share: Share, photo_id: str) -> None:
    photo_set, positions = _members(share)
    if not any(photo_set.photos[position]["id"] == photo_id for position in positions):
        raise SharePhotoNotFound()


def open_thumbnail(*, share: Share, photo_id: str, size: str,
                   if_none_match: str | None) -> UpstreamMedia | CachedThumbnail:
    _member(share, photo_id)
    with _owners_photos():
        return photo_service.open_thumbnail(owner_id=share.owner_id, photo_id=photo_id, size=size,
                                            if_none_match=if_none_match)


def open_original(*, share: Share, photo_id: str, range_header: str | None, if_range: str | None) -> UpstreamMedia:
    if not share.allow_download:
        raise DownloadNotAllowed()
    _member(share, photo_id)
    with _owners_photos():
        return photo_service.open_original(owner_id=share.owner_id, photo_id=photo_id, range_header=range_header,
                                           if_range=if_range)
