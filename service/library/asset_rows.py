"""Immich assets as index rows, and index rows as photos: pure functions, no database."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from service.photos.search import text_field

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(raw: Any) -> int | None:
    """An Immich timestamp as milliseconds since the epoch (UTC), or None."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        since = value - EPOCH
    except OverflowError:
        return None
    # Whole milliseconds, rounded down, exactly as the live search's ISO text truncates. (The
    # parts' sum, not since // 1 ms: a full sync converts five of these per asset.)
    return since.days * 86_400_000 + since.seconds * 1000 + since.microseconds // 1000


def iso_ms(ms: int | None) -> str | None:
    """Milliseconds since the epoch as Immich writes them: 2024-06-01T12:00:00.000Z."""
    if ms is None:
        return None
    value = EPOCH + timedelta(milliseconds=ms)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _local_offset_minutes(created_ms: int | None, local: Any) -> int | None:
    """The UTC offset at capture: Immich's localDateTime is the local wall time written as if UTC."""
    local_ms = epoch_ms(local)
    if created_ms is None or local_ms is None:
        return None
    return round((local_ms - created_ms) / 60_000)


def bucket_of(file_created_ms: int | None, offset_minutes: int | None) -> str | None:
    """Immich's month bucket of an asset: the month of its local capture time, "YYYY-MM"."""
    if file_created_ms is None:
        return None
    try:
        local = time.gmtime((file_created_ms + (offset_minutes or 0) * 60_000) // 1000)
    except (OverflowError, OSError, ValueError):
        return None
    return f"{local.tm_year:04d}-{local.tm_mon:02d}" if 1 <= local.tm_year <= 9999 else None


def asset_row(asset: dict[str, Any]) -> dict[str, Any] | None:
    """The index row of one asset from POST /search/metadata (withExif), or None when it
    has no id or is in the trash."""
    asset_id = asset.get("id")
    if not isinstance(asset_id, str) or len(asset_id) > 36 or asset.get("isTrashed"):
        return None
    exif = asset.get("exifInfo") or {}
    file_created_ms = epoch_ms(asset.get("fileCreatedAt"))
    taken_ms = epoch_ms(exif.get("dateTimeOriginal"))
    if taken_ms is None:
        taken_ms = file_created_ms
    latitude = _coordinate(exif.get("latitude"), 90)
    longitude = _coordinate(exif.get("longitude"), 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    offset = _local_offset_minutes(file_created_ms, asset.get("localDateTime"))
    return {
        "asset_id": asset_id,
        "type": text_field(asset.get("type"), 16) or "OTHER",
        "file_created_ms": file_created_ms,
        "taken_ms": taken_ms,
        "local_offset_minutes": offset,
        "bucket": bucket_of(file_created_ms, offset),
        "latitude": latitude,
        "longitude": longitude,
        "original_file_name": text_field(asset.get("originalFileName"), 1024),
        "city": text_field(exif.get("city"), 255),
        "state": text_field(exif.get("state"), 255),
        "country": text_field(exif.get("country"), 255),
        "is_favorite": bool(asset.get("isFavorite")),
        "thumbhash": text_field(asset.get("thumbhash"), 128),
        "updated_ms": epoch_ms(asset.get("updatedAt")),
    }


def photos_of(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The photo objects of index rows (id, file name, taken_ms, latitude, longitude, city,
    country, thumbhash), with the same fields as the live search's."""
    if not rows:
        return []
    taken = np.array([row[2] if row[2] is not None else np.iinfo(np.int64).min for row in rows], dtype=np.int64)
    texts = np.datetime_as_string(taken.astype("datetime64[ms]"), unit="ms", timezone="UTC").tolist()
    return [
        {
            "id": row[0],
            "originalFileName": row[1],
            "takenAt": None if row[2] is None else text,
            "latitude": row[3],
            "longitude": row[4],
            "type": "IMAGE",
            "city": row[5],
            "country": row[6],
            "thumbhash": row[7],
        }
        for row, text in zip(rows, texts, strict=True)
    ]
