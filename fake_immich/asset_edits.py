"""How an edit changes an asset, as Immich 2.7 does it (server/src/services/asset.service.ts).

``PUT /assets/{id}`` splits the body in two. ``description``, ``dateTimeOriginal``,
``latitude``, ``longitude`` and ``rating`` go to the ``asset_exif`` row only (``upsertExif``);
that table has its own ``updatedAt`` trigger, so the asset's ``updatedAt`` does not move and
``fileCreatedAt``, ``localDateTime`` and the place names stay as they were. The rest
(``isFavorite``, ``visibility``, ``livePhotoVideoId``) updates the ``asset`` row, whose trigger
bumps its ``updatedAt``. An exif edit then queues a sidecar write, and when that job finishes
a metadata extraction (``JobService.onDone``) re-reads the dates and the position and updates
the asset row: only then do ``fileCreatedAt``/``localDateTime``, the reverse-geocoded place and
``updatedAt`` change. If that job chain does not run (a paused queue, a read-only library
where the sidecar cannot be written), the edit stays in the exif alone.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .assets import FakeAsset, dt_of, haversine_m, ms_of
from .sample_libraries import PLACES
from .validation import iso_date_parts

EXIF_FIELDS = ("description", "dateTimeOriginal", "latitude", "longitude", "rating")
# dto property -> FakeAsset field, for what is copied as given
_EXIF_COLUMNS = {"description": "description", "rating": "rating", "latitude": "latitude", "longitude": "longitude"}
_ASSET_COLUMNS = {
    "isFavorite": "is_favorite",
    "visibility": "visibility",
    "livePhotoVideoId": "live_photo_video_id",
    "duplicateId": "duplicate_id",
}
GEOCODE_RADIUS_M = 50_000


def fixed_zone_name(offset_minutes: int) -> str:
    """Luxon's name for a fixed offset, as Immich stores it in exif ``timeZone``: ``UTC+5:30``."""
    if offset_minutes == 0:
        return "UTC"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def offset_minutes(time_zone: str | None, at: datetime) -> int:
    """The UTC offset of an exif ``timeZone`` (``UTC+1`` or an IANA name) at an instant."""
    if not time_zone or time_zone == "UTC":
        return 0
    if time_zone.startswith("UTC") and time_zone[3] in "+-":
        hours, _, minutes = time_zone[4:].partition(":")
        sign = -1 if time_zone[3] == "-" else 1
        return sign * (int(hours) * 60 + int(minutes or 0))
    try:
        delta = ZoneInfo(time_zone).utcoffset(at)
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(delta.total_seconds() // 60) if delta is not None else 0


def edit_exif(asset: FakeAsset, dto: dict) -> FakeAsset:
    """The asset after ``upsertExif`` with the exif part of an update dto (updatedAt untouched)."""
    changes = {field: dto[name] for name, field in _EXIF_COLUMNS.items() if name in dto}
    if "dateTimeOriginal" in dto:
        parts = iso_date_parts(dto["dateTimeOriginal"])
        assert parts is not None, "validated before"
        ms, written_offset = parts
        changes["taken_at"] = dt_of(ms)
        if written_offset is not None:  # extractTimeZone: only a written offset names a zone
            changes["time_zone"] = fixed_zone_name(written_offset)
    if "dateTimeRelative" in dto and asset.taken_at is not None:
        changes["taken_at"] = dt_of(ms_of(asset.taken_at) + dto["dateTimeRelative"] * 1000)
    if "timeZone" in dto:
        changes["time_zone"] = dto["timeZone"]
    return dataclasses.replace(asset, **changes)


def edit_asset_row(asset: FakeAsset, dto: dict, now_ms: int) -> FakeAsset:
    """The asset after the asset-row part of an update dto; any such field bumps updatedAt."""
    changes = {field: dto[name] for name, field in _ASSET_COLUMNS.items() if name in dto}
    if not changes:
        return asset
    return dataclasses.replace(asset, updated_ms=now_ms, **changes)


def reverse_geocode(latitude: float | None, longitude: float | None) -> tuple[str | None, str | None, str | None]:
    """(city, state, country) of the nearest known place within 50 km, else nothing."""
    if latitude is None or longitude is None:
        return None, None, None
    best = min(PLACES, key=lambda p: haversine_m(latitude, longitude, p.lat, p.lon))
    if haversine_m(latitude, longitude, best.lat, best.lon) > GEOCODE_RADIUS_M:
        return None, None, None
    return best.city, best.state, best.country


def extract_metadata(asset: FakeAsset, now_ms: int) -> FakeAsset:
    """The asset after metadata extraction re-read its file and sidecar: the exif's date and
    zone become fileCreatedAt and localDateTime, the position is geocoded again (a position of
    exactly 0,0 is read as none, as MetadataService.getGeo does), and the update of the asset
    row bumps updatedAt."""
    changes: dict = {"updated_ms": now_ms}
    if asset.latitude == 0 and asset.longitude == 0:
        changes.update(latitude=None, longitude=None)
    city, state, country = reverse_geocode(changes.get("latitude", asset.latitude),
                                           changes.get("longitude", asset.longitude))
    changes.update(city=city, state=state, country=country)
    if asset.taken_at is not None:
        changes["file_created_at"] = asset.taken_at
        changes["sort_ms"] = ms_of(asset.taken_at)
        changes["utc_offset_minutes"] = offset_minutes(asset.time_zone, asset.taken_at)
    return dataclasses.replace(asset, **changes)
