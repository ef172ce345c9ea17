"""Photo search: every page of the date range from Immich, fetched concurrently, then
mapped, sorted and optionally filtered by distance."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import orjson

from service.errors import InvalidInput
from service.immich.client import ImmichClient, ImmichTimeout, ImmichUnavailable, search_query
from service.photos.geo import Circle, coordinates, within_mask

if TYPE_CHECKING:
    from service.tracks.positions import Estimates

PAGE_SIZE = 1000  # Immich's maximum

T = TypeVar("T")


class InvalidQuery(InvalidInput, ValueError):
    """A search parameter is wrong; the message names it."""


class TooManyPages(ImmichUnavailable):
    """Immich kept offering a next page past the most one search reads."""

    def __init__(self, max_pages: int) -> None:
        super().__init__(f"Immich kept sending more pages than one search reads ({max_pages:,}); "
                         "search a shorter period")


class SearchTooSlow(ImmichTimeout):
    """The pages of one search did not all arrive within the search's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Immich did not send every page within {seconds:g} s; search a shorter period")


@dataclass(frozen=True)
class SearchQuery:
    start: datetime
    end: datetime
    circle: Circle | None
    include_estimated: bool = False  # photos without GPS get a position from the user's tracks


def parse_datetime(name: str, raw: str | None) -> datetime:
    if not raw:
        raise InvalidQuery(f"{name} is required (ISO 8601 with a timezone, e.g. 2024-06-01T00:00:00Z)")
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidQuery(
            f"{name} must be an ISO 8601 date and time with a timezone, e.g. 2024-06-01T00:00:00Z"
        ) from None
    if value.tzinfo is None or "T" not in raw.upper():
        raise InvalidQuery(f"{name} must include a time and a timezone (Z or an offset such as +02:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidQuery(f"{name} is outside the years 1 to 9999 in UTC") from None


def _number(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidQuery(f"{name} must be a number") from None
    if not math.isfinite(value) or not (low <= value <= high):
        raise InvalidQuery(f"{name} must be between {low:g} and {high:g}")
    return value


def parse_flag(name: str, raw: str | None) -> bool:
    if raw in (None, "", "false"):
        return False
    if raw == "true":
        return True
    raise InvalidQuery(f"{name} must be true or false")


def parse_query(args: Mapping[str, str]) -> SearchQuery:
    start = parse_datetime("startDate", args.get("startDate"))
    end = parse_datetime("endDate", args.get("endDate"))
    if start > end:
        raise InvalidQuery("startDate must not be after endDate")
    estimated = parse_flag("includeEstimated", args.get("includeEstimated"))
    names = ("latitude", "longitude", "radiusMeters")
    given = [name for name in names if args.get(name) not in (None, "")]
    if not given:
        return SearchQuery(start, end, None, estimated)
    if len(given) != 3:
        missing = ", ".join(name for name in names if name not in given)
        raise InvalidQuery(f"latitude, longitude and radiusMeters go together: {missing} missing")
    latitude = _number("latitude", args["latitude"], -90, 90)
    longitude = _number("longitude", args["longitude"], -180, 180)
    radius = _number("radiusMeters", args["radiusMeters"], 0, 2 * math.pi * 6_371_008.8)
    if radius <= 0:
        raise InvalidQuery("radiusMeters must be greater than 0")
    return SearchQuery(start, end, Circle(latitude, longitude, radius), estimated)


def iso_utc(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


# ------------------------------------------------------------------ fetching


SortablePhoto = tuple[str, str, dict[str, Any]]  # (takenAt or "~", id, photo): sorts by time, then id

# Search pages decoded and mapped at once in this process. A page in flight waits as the bytes
# Immich sent; decoded, it takes several times that (about 5 MB for 1,000 assets), and only
# one thread runs Python at a time anyway.
_DECODING = threading.BoundedSemaphore(2)


def fetch_page(client: ImmichClient, query: dict[str, Any],
               decoded: Callable[[bytes], tuple[T, int | None]]) -> tuple[T, int | None]:
    """One search page (its body from search_query), decoded into what the caller keeps, and
    its nextPage: read at once, decoded when its turn comes."""
    answer = client.search_metadata_answer(query)
    with _DECODING:
        return decoded(answer)


def fetch_range(client: ImmichClient, executor: Executor, *, start: datetime, end: datetime,
                window: int, max_pages: int, deadline_seconds: float) -> PhotoSet:
    """Every image taken in [start, end], following nextPage to the end; a server that never
    stops offering pages ends the search at `max_pages` (502), and one too slow to send them
    all at `deadline_seconds` (504)."""
    def decoded(answer: bytes) -> tuple[list[SortablePhoto], int | None]:
        found = client.search_page(answer)
        return sortable_photos(found.items), found.next_page

    def page(number: int) -> tuple[list[SortablePhoto], int | None]:
        query = search_query(page=number, size=PAGE_SIZE, taken_after=iso_utc(start), taken_before=iso_utc(end))
        return fetch_page(client, query, decoded)

    entries: list[SortablePhoto] = []
    for mapped in pages(page, executor, window=window, max_pages=max_pages, deadline_seconds=deadline_seconds):
        entries.extend(mapped)
    return PhotoSet.from_sortable(entries)


def pages(page: Callable[[int], tuple[T, int | None]], executor: Executor, *, window: int, max_pages: int,
          deadline_seconds: float | None = None) -> Iterator[T]:
    """Each page's mapped result, in order, from page 1 until one has no nextPage.

    Page 1 comes first; after it, up to `window` further pages are in flight at once (the
    page numbers are known in advance, and the first page without a nextPage ends it). Each
    page is mapped on its own thread (inside `page`) while the others are in transit. Past
    `max_pages` it raises TooManyPages; past the deadline, SearchTooSlow.
    """
    deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds

    def timed(number: int) -> tuple[T, int | None]:
        if deadline is not None and time.monotonic() > deadline:
            raise SearchTooSlow(deadline_seconds or 0)  # queued behind others for too long: skip the call
        return page(number)

    mapped, next_page = timed(1)
    yield mapped
    number = 1
    inflight: deque[Future[tuple[T, int | None]]] = deque()
    try:
        while next_page is not None:
            if number >= max_pages:
                raise TooManyPages(max_pages)
            while len(inflight) < window and number + len(inflight) < max_pages:
                inflight.append(executor.submit(timed, number + len(inflight) + 1))
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                mapped, next_page = inflight.popleft().result(timeout=wait)
            except FutureTimeout:
                raise SearchTooSlow(deadline_seconds or 0) from None
            number += 1
            yield mapped
    finally:
        for future in inflight:
            future.cancel()


# ------------------------------------------------------------------ mapping


def coordinate(value: Any, limit: float) -> float | None:
    """A latitude or longitude of Immich's within ±limit, as both search paths give it, or
    None (a bool is none; JSON has no NaN, and an infinity or a huge integer is out of range)."""
    if type(value) is float or type(value) is int:
        return float(value) if -limit <= value <= limit else None
    return None


def text_field(value: Any, limit: int) -> str | None:
    """A text field of Immich's as both search paths give it: a non-empty string, cut to
    what the index keeps, or None."""
    return value[:limit] if isinstance(value, str) and value else None


def _utc_text(raw: Any) -> str | None:
    """An Immich timestamp as ISO 8601 UTC with milliseconds, e.g. 2024-06-01T12:00:00.000Z.

    Immich already sends that exact form, which passes through untouched; anything else is
    parsed and rewritten. One fixed form means the strings sort as the times do.
    """
    if not isinstance(raw, str):
        return None
    if len(raw) == 24 and raw[10] == "T" and raw[19] == "." and raw[23] == "Z":
        return raw
    try:
        value = datetime.fromisoformat(raw)
        return iso_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
    except (ValueError, OverflowError):
        return None


def sortable_photos(assets: list[dict[str, Any]]) -> list[SortablePhoto]:
    """Image, non-trashed assets as photo objects, each with its sort key."""
    entries = []
    for asset in assets:
        asset_id = asset.get("id")
        if asset.get("type") != "IMAGE" or asset.get("isTrashed") or not isinstance(asset_id, str):
            continue
        exif = asset.get("exifInfo") or {}
        taken = _utc_text(exif.get("dateTimeOriginal")) or _utc_text(asset.get("fileCreatedAt"))
        latitude = coordinate(exif.get("latitude"), 90)
        longitude = coordinate(exif.get("longitude"), 180)
        if latitude is None or longitude is None:
            latitude = longitude = None
        photo = {
            "id": asset_id,
            "originalFileName": text_field(asset.get("originalFileName"), 1024),
            "takenAt": taken,
            "latitude": latitude,
            "longitude": longitude,
            "type": "IMAGE",
            "city": text_field(exif.get("city"), 255),
            "country": text_field(exif.get("country"), 255),
            "thumbhash": text_field(asset.get("thumbhash"), 128),
        }
        entries.append((taken or "~", asset_id, photo))  # "~" sorts after every date
    return entries


class PhotoSet:
    """The photos of one searched range, sorted, with their coordinates as arrays so a
    radius filter over 100,000 photos takes milliseconds. Shared by cached searches, so
    each photo's JSON (with the URLs of one path form) is encoded once."""

    def __init__(self, photos: list[dict[str, Any]]) -> None:
        self.photos = photos
        self.latitudes, self.longitudes = coordinates(photos)
        self._encoded: dict[str, list[bytes | None]] = {}
        self._derived: dict[str, Any] = {}

    @classmethod
    def from_sortable(cls, entries: list[SortablePhoto]) -> PhotoSet:
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        photos = []
        previous = None
        for _, asset_id, photo in entries:
            if asset_id != previous:  # a page boundary that shifted can repeat an asset
                photos.append(photo)
            previous = asset_id
        return cls(photos)

    def __len__(self) -> int:
        return len(self.photos)

    def select(self, circle: Circle | None, url_prefix: str, estimates: Estimates | None = None,
               *, estimated_only: bool = False) -> list[orjson.Fragment]:
        """The photos inside the circle (all without one) with URLs under url_prefix, as
        pre-encoded JSON fragments. With estimates, a photo without GPS carries its
        estimatedLocation and is inside the circle when that is."""
        if circle is None:
            mask = None
        else:
            mask = within_mask(self.latitudes, self.longitudes, circle)
            if estimates is not None:
                mask |= within_mask(estimates.latitudes, estimates.longitudes, circle)
        if estimated_only:
            found = estimates.found if estimates is not None else np.zeros(len(self.photos), dtype=bool)
            mask = found if mask is None else mask & found
        indices: Any = range(len(self.photos)) if mask is None else mask.nonzero()[0].tolist()
        return self.encode_at(indices, url_prefix, estimates)

    def encode_at(self, indices: Iterable[int], url_prefix: str,
                  estimates: Estimates | None = None) -> list[orjson.Fragment]:
        """The photos at these positions with URLs under url_prefix, each encoded once; with
        estimates, a photo without GPS that has one carries its estimatedLocation."""
        encoded = self._encoded.setdefault(url_prefix, [None] * len(self.photos))
        photos = self.photos
        prefix = prefix_json(url_prefix)
        selected = []
        for i in indices:
            if estimates is not None and estimates.accuracies[i] == estimates.accuracies[i]:  # not NaN
                selected.append(orjson.Fragment(orjson.dumps({
                    **photos[i],
                    "thumbnailUrl": f"{url_prefix}{photos[i]['id']}/thumbnail",
                    "downloadUrl": f"{url_prefix}{photos[i]['id']}/download",
                    "estimatedLocation": {"latitude": round(float(estimates.latitudes[i]), 6),
                                          "longitude": round(float(estimates.longitudes[i]), 6),
                                          "accuracyMeters": int(round(float(estimates.accuracies[i])))},
                })))
                continue
            fragment = encoded[i]
            if fragment is None:
                fragment = encoded[i] = photo_json(photos[i], prefix)
            selected.append(orjson.Fragment(fragment))
        return selected

    def derived(self, name: str, build: Callable[[PhotoSet], T]) -> T:
        """Something built once from this set (e.g. the map's columns), kept beside it."""
        if name not in self._derived:
            self._derived[name] = build(self)
        found: T = self._derived[name]
        return found

    def positions_of(self, ids: Iterable[str]) -> list[int]:
        where = self.derived("positions", lambda found: {p["id"]: i for i, p in enumerate(found.photos)})
        return [where[asset_id] for asset_id in ids if asset_id in where]


def prefix_json(url_prefix: str) -> bytes:
    """The URL prefix as JSON text, without its closing quote: what photo_json splices in."""
    return orjson.dumps(url_prefix)[:-1]


def photo_json(photo: dict[str, Any], prefix: bytes) -> bytes:
    """One photo's JSON with its thumbnailUrl and downloadUrl under the prefix (prefix_json's)."""
    asset_id = orjson.dumps(photo["id"])[1:-1]  # the id escaped as JSON text
    return (orjson.dumps(photo)[:-1] + b',"thumbnailUrl":' + prefix + asset_id
            + b'/thumbnail","downloadUrl":' + prefix + asset_id + b'/download"}')


def parse_photo_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw)) if len(raw) == 36 else _reject()
    except ValueError:
        return _reject()


def _reject() -> str:
    raise InvalidQuery("photoId must be a UUID")
