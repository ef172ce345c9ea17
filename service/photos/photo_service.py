"""The photos service: what the photo views call. It owns the search (cache keys included)
and opening media; it knows nothing of Flask's request."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import orjson

from service.components import components
from service.immich import settings
from service.immich.client import UpstreamMedia
from service.library import index_service
from service.photos.search import PhotoSet, SearchQuery, fetch_range, iso_utc
from service.photos.search_cache import RangeKey
from service.tracks import track_service
from service.tracks.positions import Estimates

THUMBNAIL_SIZES = ("thumbnail", "preview")


@dataclass(frozen=True)
class SearchResult:
    photos: list[orjson.Fragment]
    source: str  # "index" or "live"
    indexed_at: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"photos": self.photos, "totalCount": len(self.photos), "source": self.source,
                "indexedAt": self.indexed_at}


def search(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> SearchResult:
    """The owner's photos in the query's range (and circle), with URLs under url_prefix:
    from the library index when it is ready for these settings, else from Immich; with
    includeEstimated, photos without GPS carry their position on the owner's tracks."""
    photo_set, source, indexed_at, estimates = _photo_set(owner_id, query)
    return SearchResult(photo_set.select(query.circle, url_prefix, estimates), source, indexed_at)


def estimated_photos(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> SearchResult:
    """Only the photos that have an estimated position: the list to review before writing
    positions to Immich."""
    photo_set, source, indexed_at, estimates = _photo_set(owner_id, dataclasses.replace(query, include_estimated=True))
    return SearchResult(photo_set.select(query.circle, url_prefix, estimates, estimated_only=True), source,
                        indexed_at)


def _photo_set(owner_id: uuid.UUID, query: SearchQuery) -> tuple[PhotoSet, str, str | None, Estimates | None]:
    creds = settings.credentials(owner_id)
    # Photos without GPS lie outside any circle until their estimate is known: load them all.
    loaded = dataclasses.replace(query, circle=None) if query.include_estimated else query
    indexed = index_service.search(user_id=owner_id, settings_version=creds.version, query=loaded)
    if indexed is not None:
        photo_set, indexed_at = indexed
        return photo_set, "index", indexed_at, _estimates(owner_id, photo_set, query, from_index=True)
    found = components()
    client = settings.client_with(creds)
    start, end = iso_utc(query.start), iso_utc(query.end)

    def load() -> PhotoSet:
        return fetch_range(client, found.search_executor, start=query.start, end=query.end,
                           window=found.upstreams.max_concurrency)

    key = RangeKey(owner_id=owner_id, settings_version=creds.version, start=start, end=end)
    photo_set = found.search_cache.get_or_load(key, load)
    return photo_set, "live", None, _estimates(owner_id, photo_set, query, from_index=False)


def _estimates(owner_id: uuid.UUID, photo_set: PhotoSet, query: SearchQuery, *, from_index: bool) -> Estimates | None:
    if not query.include_estimated:
        return None
    return track_service.estimates_for(user_id=owner_id, photos=photo_set.photos, start=query.start,
                                       end=query.end, from_index=from_index)


def open_thumbnail(*, owner_id: uuid.UUID, photo_id: str, size: str,
                   if_none_match: str | None) -> UpstreamMedia:
    return settings.client_for(owner_id).open_thumbnail(photo_id, size=size, if_none_match=if_none_match)


def open_original(*, owner_id: uuid.UUID, photo_id: str, range_header: str | None,
                  if_range: str | None) -> UpstreamMedia:
    return settings.client_for(owner_id).open_original(photo_id, range_header=range_header, if_range=if_range)
