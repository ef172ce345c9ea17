"""Immich's timeline: month buckets of assets and the columnar bucket answer.

Immich buckets by ``localDateTime`` (the wall-clock time where the photo was taken), not by
``fileCreatedAt``: ``date_trunc('MONTH', "localDateTime" AT TIME ZONE 'UTC')`` in
``truncatedDate()`` (server/src/utils/database.ts), used by ``getTimeBuckets`` and
``getTimeBucket`` in server/src/repositories/asset.repository.ts. Within a bucket, assets are
ordered by ``fileCreatedAt``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from time import gmtime

from .assets import FakeAsset, ms_of

# Local offsets run from UTC-12 to UTC+14: a month's assets lie within this of its UTC span.
MAX_OFFSET_MS = 15 * 3_600_000

_MONTH_BY_DAY: dict[int, str] = {}


def month_of(local_ms: int) -> str:
    """The bucket of a localDateTime, as Immich names it: ``"2024-01-01"``."""
    day = local_ms // 86_400_000
    month = _MONTH_BY_DAY.get(day)
    if month is None:
        t = gmtime(day * 86_400)
        month = f"{t.tm_year:04d}-{t.tm_mon:02d}-01"
        if len(_MONTH_BY_DAY) < 200_000:
            _MONTH_BY_DAY[day] = month
    return month


def month_span_ms(month: str) -> tuple[int, int]:
    """[start, end) of a ``"YYYY-MM-01"`` month, in ms of local time written as UTC."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return ms_of(start), ms_of(end)


_BUCKET_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_time_bucket(value: str) -> str | None:
    """The month a ``timeBucket`` names, or "" when it names an instant that starts no month.

    Immich compares the month start with ``timeBucket`` cast to a timestamp (leading sign
    stripped); None when PostgreSQL could not cast it (Immich then answers 500)."""
    m = _BUCKET_RE.match(value.lstrip("+-").strip())
    if m is None:
        return None
    year, mon, day, hh, mi, ss, frac, tz = m.groups()
    try:
        when = datetime(int(year), int(mon), int(day), int(hh or 0), int(mi or 0), int(ss or 0), tzinfo=UTC)
    except ValueError:
        return None
    ms = ms_of(when) + (int((frac or "0")[:3].ljust(3, "0")) if frac else 0)
    if tz and tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "").ljust(4, "0")
        ms -= sign * (int(digits[:2]) * 60 + int(digits[2:4])) * 60_000
    month = month_of(ms)
    return month if month_span_ms(month)[0] == ms else ""


@dataclass(frozen=True)
class TimelineFilter:
    """The filters of ``/timeline/bucket(s)`` and ``/assets/statistics`` that the fake honours."""

    is_trashed: bool = False  # True: only trashed assets; else only the others
    visibility: str | None = None  # None: "archive" and "timeline", Immich's default
    is_favorite: bool | None = None
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    match_nothing: bool = False  # a filter on something the fake has none of (people)

    def tally_matches(self, is_trashed: bool, visibility: str, is_favorite: bool) -> bool:
        if self.match_nothing or is_trashed != self.is_trashed:
            return False
        if self.visibility is None:
            if visibility not in ("archive", "timeline"):
                return False
        elif visibility != self.visibility:
            return False
        return self.is_favorite is None or is_favorite == self.is_favorite

    def matches(self, a: FakeAsset) -> bool:
        if not self.tally_matches(a.is_trashed, a.visibility, a.is_favorite):
            return False
        if self.bbox is None:
            return True
        if a.latitude is None or a.longitude is None:
            return False
        west, south, east, north = self.bbox
        if not south <= a.latitude <= north:
            return False
        if west <= east:
            return west <= a.longitude <= east
        return a.longitude >= west or a.longitude <= east  # across the antimeridian


def tally_key(a: FakeAsset) -> tuple[str, bool, str, bool, str]:
    """What buckets and statistics count assets by."""
    return month_of(a.local_ms), a.is_trashed, a.visibility, a.is_favorite, a.type


def _pg_timestamp(ms: int) -> str:
    """A ``timestamp without time zone`` as PostgreSQL's to_json writes it: no zone, trailing
    zeros of the fraction dropped."""
    t = gmtime(ms // 1000)
    text = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    frac = ms % 1000
    return f"{text}.{frac:03d}".rstrip("0") if frac else text


def _offset_hours(minutes: int) -> int | float:
    hours = minutes / 60
    return int(hours) if hours.is_integer() else hours


def _ratio(a: FakeAsset) -> float:
    if not a.width or not a.height:
        return 1
    return round(a.width / a.height, 3)


def bucket_json(assets: list[FakeAsset], *, with_coordinates: bool, with_stacked: bool) -> dict:
    """TimeBucketAssetResponseDto: one array per field, one entry per asset, in order."""
    out: dict = {
        "city": [a.city for a in assets],
        "country": [a.country for a in assets],
        "duration": [a.duration for a in assets],  # null for images: the column is only set for videos
        "id": [a.id for a in assets],
        "visibility": [a.visibility for a in assets],
        "isFavorite": [a.is_favorite for a in assets],
        "isImage": [a.type == "IMAGE" for a in assets],
        "isTrashed": [a.is_trashed for a in assets],
        "livePhotoVideoId": [a.live_photo_video_id for a in assets],
        "fileCreatedAt": [_pg_timestamp(a.sort_ms) for a in assets],
        "localOffsetHours": [_offset_hours(a.utc_offset_minutes) for a in assets],
        "ownerId": [a.owner_id for a in assets],
        "projectionType": [None for _ in assets],
        "ratio": [_ratio(a) for a in assets],
        "thumbhash": [a.thumbhash for a in assets],
    }
    if with_coordinates:
        out["latitude"] = [a.latitude for a in assets]
        out["longitude"] = [a.longitude for a in assets]
    if with_stacked:
        out["stack"] = [None for _ in assets]  # no stacks in the fake's libraries
    return out
