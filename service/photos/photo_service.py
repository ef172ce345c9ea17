"""The photos service: what the photo views call. It owns the search (cache keys included)
and opening media; it knows nothing of Flask's request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from service.components import components
from service.immich import settings
from service.immich.client import UpstreamMedia
from service.photos.search import PhotoSet, SearchQuery, fetch_range, iso_utc
from service.photos.search_cache import RangeKey
from service.photos.thumbnail_cache import CachedThumbnail, ThumbnailKey

THUMBNAIL_SIZES = ("thumbnail", "preview")


@dataclass(frozen=True)
class SearchResult:
    photos: list[orjson.Fragment]

    def to_dict(self) -> dict[str, object]:
        return {"photos": self.photos, "totalCount": len(self.photos)}


def search(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> SearchResult:
    """The owner's photos in the query's range (and circle), with URLs under url_prefix."""
    creds = settings.credentials(owner_id)
    found = components()
    client = settings.client_with(creds)
    start, end = iso_utc(query.start), iso_utc(query.end)

    def load() -> PhotoSet:
        return fetch_range(client, found.search_executor, start=query.start, end=query.end,
                           window=found.upstreams.max_concurrency)

    key = RangeKey(owner_id=owner_id, settings_version=creds.version, start=start, end=end)
    photo_set = found.search_cache.get_or_load(key, load)
    return SearchResult(photo_set.select(query.circle, url_prefix))


def open_thumbnail(*, owner_id: uuid.UUID, photo_id: str, size: str,
                   if_none_match: str | None) -> CachedThumbnail | UpstreamMedia:
    """The thumbnail from the cache on disk when it holds it, else from Immich (and kept)."""
    creds = settings.credentials(owner_id)

    def fetch(etag: str | None) -> UpstreamMedia:
        return settings.client_with(creds).open_thumbnail(photo_id, size=size, if_none_match=etag)

    cache = components().thumbnail_cache
    key = ThumbnailKey(str(owner_id), creds.version, photo_id, size)
    if cache is None or not cache.usable or not key.is_safe():
        return fetch(if_none_match)
    return cache.get_or_fetch(key, fetch)


def open_original(*, owner_id: uuid.UUID, photo_id: str, range_header: str | None,
                  if_range: str | None) -> UpstreamMedia:
    return settings.client_for(owner_id).open_original(photo_id, range_header=range_header, if_range=if_range)
