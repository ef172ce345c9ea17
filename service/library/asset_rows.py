"""Immich assets as index rows, and index rows as photos: pure functions, no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import numpy as np

from service.photos.search import coordinate, text_field

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


# One asset's values in the index, in this order (the table's columns but user_id).
ROW_COLUMNS = ("asset_id", "type", "file_created_ms", "taken_ms", "local_offset_minutes", "bucket", "latitude",
               "longitude", "original_file_name", "city", "state", "country", "is_favorite", "thumbhash",
               "updated_ms")
IndexRow = tuple[Any, ...]
ASSET_ID = ROW_COLUMNS.index("asset_id")
SplitPage = tuple[list[IndexRow], list[str], int | None, int]  # rows, ids in the trash, newest updatedAt, seen


class _Exif(msgspec.Struct, gc=False):  # JSON's values hold no cycles
    dateTimeOriginal: Any = None
    latitude: Any = None
    longitude: Any = None
    city: Any = None
    state: Any = None
    country: Any = None


class Asset(msgspec.Struct, gc=False):
    """The fields of an asset of POST /search/metadata (withExif) that the index keeps, each
    as Immich sent it; decoding skips the rest."""

    id: Any = None
    type: Any = None
    originalFileName: Any = None  # noqa: N815 - Immich's names
    fileCreatedAt: Any = None  # noqa: N815
    localDateTime: Any = None  # noqa: N815
    updatedAt: Any = None  # noqa: N815
    isFavorite: Any = None  # noqa: N815
    isTrashed: Any = None  # noqa: N815
    thumbhash: Any = None
    exifInfo: _Exif | None = None  # noqa: N815


class _Assets(msgspec.Struct):
    items: list[Asset]
    nextPage: Any = None  # noqa: N815


class _Answer(msgspec.Struct):
    assets: _Assets


_ANSWER = msgspec.json.Decoder(_Answer)
_NO_EXIF = _Exif()


class NotAssets(ValueError):
    """The answer is not a search page whose assets decode as Asset (not JSON, another shape,
    an exifInfo that is not an object): the caller decodes it the general way."""


def decode_assets(answer: bytes) -> tuple[list[Asset], int | None]:
    """A search page's assets and nextPage, decoded straight into Asset: less than half the
    time of decoding every field of the page."""
    try:
        assets = _ANSWER.decode(answer).assets
        next_page = assets.nextPage
        return assets.items, int(next_page) if next_page not in (None, "") else None
    except (msgspec.DecodeError, TypeError, ValueError):
        raise NotAssets() from None


def assets_of(items: list[Any]) -> list[Asset]:
    """Decoded assets (dicts) as Asset: an exifInfo that is not an object counts as none, and
    an item that is not an object is skipped."""
    assets = []
    for item in items:
        if isinstance(item, dict):
            exif = item.get("exifInfo")
            fields = item if exif is None or isinstance(exif, dict) else {**item, "exifInfo": None}
            assets.append(msgspec.convert(fields, Asset))
    return assets


def split_assets(assets: Sequence[Asset]) -> SplitPage:
    """A page's assets as index rows, the ids of those in the trash, the newest updatedAt of
    them all, and how many there were. The times of a whole page are read at once."""
    count = len(assets)
    exifs = [asset.exifInfo or _NO_EXIF for asset in assets]
    times = epoch_ms_column([asset.fileCreatedAt for asset in assets] + [exif.dateTimeOriginal for exif in exifs]
                            + [asset.localDateTime for asset in assets] + [asset.updatedAt for asset in assets])
    created, original, updated = times[:count], times[count:2 * count], times[3 * count:]
    offsets, buckets = _offsets_and_buckets(created, times[2 * count:3 * count])
    rows, gone, high = [], [], None
    for asset, exif, created_ms, original_ms, offset, bucket, updated_ms in zip(
            assets, exifs, created, original, offsets, buckets, updated, strict=True):
        asset_id = asset.id
        if type(asset_id) is not str or len(asset_id) > 36 or asset.isTrashed:
            if type(asset_id) is not str:
                continue
            gone.append(asset_id)
        else:
            latitude, longitude = coordinate(exif.latitude, 90), coordinate(exif.longitude, 180)
            if latitude is None or longitude is None:
                latitude = longitude = None
            rows.append((asset_id, text_field(asset.type, 16) or "OTHER", created_ms,
                         created_ms if original_ms is None else original_ms, offset, bucket, latitude, longitude,
                         text_field(asset.originalFileName, 1024), text_field(exif.city, 255),
                         text_field(exif.state, 255), text_field(exif.country, 255), bool(asset.isFavorite),
                         text_field(asset.thumbhash, 128), updated_ms))
        if updated_ms is not None and (high is None or updated_ms > high):
            high = updated_ms
    return rows, gone, high, count


# Immich's form of a time, 2024-06-01T12:00:00.000Z, read for a whole column at once.
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
_PLACES = np.array([1000, 100, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 100, 10, 1])
_FIELDS = [(0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14), (14, 17)]  # of _DIGITS: year … milliseconds
_SEPARATORS = [4, 7, 10, 13, 16, 19, 23]
_SEPARATOR_CODES = np.array([ord(c) for c in "--T::.Z"], dtype=np.uint32)


def epoch_ms_column(values: list[Any]) -> list[int | None]:
    """epoch_ms of each value. Those in Immich's own form (all of them, from Immich) are
    read together by numpy; any other is left to epoch_ms."""
    count = len(values)
    if not count:
        return []
    texts = np.array([value if type(value) is str and len(value) == 24 else "" for value in values], dtype="<U24")
    codes = texts.view(np.uint32).reshape(count, 24)
    good = (codes[:, _SEPARATORS] == _SEPARATOR_CODES).all(axis=1)
    digits = codes[:, _DIGITS].astype(np.int64) - ord("0")
    good &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    weighted = digits * _PLACES
    year, month, day, hour, minute, second, millis = (weighted[:, a:b].sum(axis=1) for a, b in _FIELDS)
    good &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    months = ((np.clip(year, 1, 9999) - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]").astype(np.int64)
    good &= day <= (months + 1).astype("datetime64[D]").astype(np.int64) - first  # no 31 April
    milliseconds = (first + day - 1) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
    result: list[int | None] = milliseconds.tolist()
    for i in np.flatnonzero(~good).tolist():
        result[i] = epoch_ms(values[i])
    return result


def _offsets_and_buckets(created: list[int | None], local: list[int | None]) -> tuple[list[int | None],
                                                                                     list[str | None]]:
    """local_offset_minutes and bucket (bucket_of) of each asset, for a whole page at once."""
    has_created = np.array([ms is not None for ms in created])
    has_both = has_created & np.array([ms is not None for ms in local])
    created_ms = np.array([0 if ms is None else ms for ms in created], dtype=np.int64)
    local_ms = np.array([0 if ms is None else ms for ms in local], dtype=np.int64)
    # As Python's round((local - created) / 60_000): the same division, ties to even.
    offsets = np.where(has_both, np.rint((local_ms - created_ms) / 60_000), 0).astype(np.int64)
    seconds = (created_ms + offsets * 60_000) // 1000
    months = (seconds * 1000).astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64).tolist()
    labels = {month: _month_label(month) for month in set(months)}
    return ([offset if both else None for offset, both in zip(offsets.tolist(), has_both.tolist(), strict=True)],
            [labels[month] if known else None for month, known in zip(months, has_created.tolist(), strict=True)])


def _month_label(months_since_1970: int) -> str | None:
    year, month = divmod(months_since_1970, 12)
    year += 1970
    return f"{year:04d}-{month + 1:02d}" if 1 <= year <= 9999 else None


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
