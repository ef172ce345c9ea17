"""The photos service: what the photo views call. It owns the search (cache keys included)
and opening media; it knows nothing of Flask's request."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson

from service.components import components
from service.immich import settings
from service.immich.client import UpstreamMedia
from service.library import index_service
from service.photos import map_data
from service.photos.search import PhotoSet, SearchQuery, fetch_range, iso_utc
from service.photos.search_cache import RangeKey
from service.photos.thumbnail_cache import CachedThumbnail, ThumbnailKey
from service.tracks import track_service
from service.tracks.positions import Estimates

THUMBNAIL_SIZES = ("thumbnail", "preview")


@dataclass(frozen=True)
class SearchResult:
    photos: list[orjson.Fragment] | orjson.Fragment  # each photo's JSON, or the whole array's
    count: int
    source: str  # "index" or "live"
    indexed_at: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"photos": self.photos, "totalCount": self.count, "source": self.source,
                "indexedAt": self.indexed_at}


def search(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> SearchResult:
    """The owner's photos in the query's range (and circle), with URLs under url_prefix:
    from the library index when it is ready for these settings, else from Immich; with
    includeEstimated, photos without GPS carry their position on the owner's tracks."""
    creds = settings.credentials(owner_id)
    if not query.include_estimated:
        indexed = index_service.encoded_search(user_id=owner_id, settings_version=creds.version, query=query,
                                               url_prefix=url_prefix)
        if indexed is not None:
            encoded, count, synced = indexed
            return SearchResult(orjson.Fragment(encoded), count, "index", synced)
    photo_set, source, indexed_at, estimates = _photo_set(owner_id, creds, query)
    selected = photo_set.select(query.circle, url_prefix, estimates)
    return SearchResult(selected, len(selected), source, indexed_at)


def estimated_photos(*, owner_id: uuid.UUID, query: SearchQuery, url_prefix: str) -> SearchResult:
    """Only the photos that have an estimated position: the list to review before writing
    positions to Immich."""
    creds = settings.credentials(owner_id)
    photo_set, source, indexed_at, estimates = _photo_set(owner_id, creds,
                                                          dataclasses.replace(query, include_estimated=True))
    selected = photo_set.select(query.circle, url_prefix, estimates, estimated_only=True)
    return SearchResult(selected, len(selected), source, indexed_at)


def _photo_set(owner_id: uuid.UUID, creds: settings.Credentials,
               query: SearchQuery) -> tuple[PhotoSet, str, str | None, Estimates | None]:
    # Photos without GPS lie outside any circle until their estimate is known: load them all.
    loaded = dataclasses.replace(query, circle=None) if query.include_estimated else query
    indexed = index_service.search(user_id=owner_id, settings_version=creds.version, query=loaded)
    if indexed is not None:
        photo_set, indexed_at = indexed
        return photo_set, "index", indexed_at, _estimates(owner_id, photo_set, query, from_index=True)
    photo_set = _live_set(owner_id, creds, loaded)
    return photo_set, "live", None, _estimates(owner_id, photo_set, query, from_index=False)


def photo_set(*, owner_id: uuid.UUID, query: SearchQuery) -> PhotoSet:
    """Every photo of the owner's in the query's range, circle not applied: from the library
    index when it is ready for these settings, else from Immich."""
    creds = settings.credentials(owner_id)
    whole_range = SearchQuery(query.start, query.end, None)
    indexed = index_service.search(user_id=owner_id, settings_version=creds.version, query=whole_range)
    if indexed is not None:
        return indexed[0]
    return _live_set(owner_id, creds, whole_range)


def _live_set(owner_id: uuid.UUID, creds: settings.Credentials, query: SearchQuery) -> PhotoSet:
    """The range's photos from Immich, through the search cache."""
    found = components()
    client = settings.client_with(creds)
    # This user's pages take turns with everyone else's: a slow server delays only its own.
    lane = found.search_executor.lane(urlsplit(creds.server_url).netloc, owner_id)
    upstreams = found.upstreams

    def load() -> PhotoSet:
        return fetch_range(client, lane, start=query.start, end=query.end, window=upstreams.max_concurrency,
                           max_pages=upstreams.limits.search_pages,
                           deadline_seconds=upstreams.limits.search_deadline)

    key = RangeKey(owner_id=owner_id, settings_version=creds.version, start=iso_utc(query.start),
                   end=iso_utc(query.end))
    return found.search_cache.get_or_load(key, load)


def _estimates(owner_id: uuid.UUID, photo_set: PhotoSet, query: SearchQuery, *, from_index: bool) -> Estimates | None:
    if not query.include_estimated:
        return None
    return track_service.estimates_for(user_id=owner_id, photos=photo_set.photos, start=query.start,
                                       end=query.end, from_index=from_index)


# ------------------------------------------------------------------ the map


@dataclass(frozen=True)
class _MapSource:
    columns: map_data.MapColumns
    photos_for: Callable[[list[str]], tuple[PhotoSet, list[int]]]
    source: str
    indexed_at: str | None

    def describe(self) -> dict[str, object]:
        return {"source": self.source, "indexedAt": self.indexed_at}


def _map_source(owner_id: uuid.UUID, query: SearchQuery, scope: map_data.Scope) -> _MapSource:
    creds = settings.credentials(owner_id)
    loaded = scope.loaded_range(query)
    indexed = index_service.map_columns(user_id=owner_id, settings_version=creds.version, query=loaded)
    if indexed is not None:
        columns, indexed_at = indexed

        def from_index(ids: list[str]) -> tuple[PhotoSet, list[int]]:
            photo_set = index_service.photos_by_ids(user_id=owner_id, asset_ids=ids)
            return photo_set, list(range(len(photo_set)))

        return _MapSource(scope.apply(columns, query), from_index, "index", indexed_at)
    photo_set = _live_set(owner_id, creds, loaded)
    columns = photo_set.derived("map", lambda found: map_data.MapColumns.from_photos(found.photos))
    return _MapSource(scope.apply(columns, query), lambda ids: (photo_set, photo_set.positions_of(ids)), "live",
                      None)


def map_clusters(*, owner_id: uuid.UUID, query: map_data.MapQuery,
                 scope: map_data.Scope = map_data.WHOLE_LIBRARY) -> dict[str, object]:
    """The view's clusters (a photo alone is a cluster of one), with exact counts, of the
    owner's photos in the scope (all of them by default)."""
    found = _map_source(owner_id, query.range, scope)
    assert query.viewport is not None
    clusters = map_data.clusters(found.columns, query.viewport, decimals=scope.decimals)
    located = int((~np.isnan(found.columns.latitudes)).sum())
    return {"clusters": clusters, "inViewCount": sum(int(c["count"]) for c in clusters),
            "totalCount": len(found.columns), "withoutLocationCount": len(found.columns) - located,
            **found.describe()}


def map_histogram(*, owner_id: uuid.UUID, query: map_data.MapQuery,
                  scope: map_data.Scope = map_data.WHOLE_LIBRARY) -> dict[str, object]:
    """Photo counts over the range for the view (every located photo without one)."""
    found = _map_source(owner_id, query.range, scope)
    indices = map_data.in_view(found.columns, query.viewport, query.cell)
    start_ms, end_ms = (int(value.timestamp() * 1000) for value in (query.range.start, query.range.end))
    return {**map_data.histogram(found.columns, indices, start_ms=start_ms, end_ms=end_ms),
            "count": int(indices.size), **found.describe()}


PhotoEncoder = Callable[[PhotoSet, list[int]], list[Any]]


def map_photos(*, owner_id: uuid.UUID, query: map_data.MapQuery, url_prefix: str = "",
               scope: map_data.Scope = map_data.WHOLE_LIBRARY, encode: PhotoEncoder | None = None) -> dict[str, object]:
    """One page of the photos in the view or a cluster, newest or oldest first, with URLs
    under url_prefix (or as `encode` writes them)."""
    found = _map_source(owner_id, query.range, scope)
    indices = map_data.in_view(found.columns, query.viewport, query.cell)
    ids = map_data.page(found.columns, indices, order=query.order, offset=query.offset, limit=query.limit)
    photo_set, positions = found.photos_for(ids)
    photos = encode(photo_set, positions) if encode else photo_set.encode_at(positions, url_prefix)
    return {"photos": photos, "totalCount": int(indices.size), **found.describe()}


def open_thumbnail(*, owner_id: uuid.UUID, photo_id: str, size: str, if_none_match: str | None,
                   creds: settings.Credentials | None = None) -> CachedThumbnail | UpstreamMedia:
    """The thumbnail from the cache on disk when it holds it, else from Immich (and kept);
    `creds` are the owner's, when the caller has read them already."""
    creds = creds or settings.credentials(owner_id)

    def fetch(etag: str | None) -> UpstreamMedia:
        return settings.client_with(creds).open_thumbnail(photo_id, size=size, if_none_match=etag)

    cache = components().thumbnail_cache
    key = ThumbnailKey(str(owner_id), creds.version, photo_id, size)
    if cache is None or not cache.usable or not key.is_safe():
        return fetch(if_none_match)
    return cache.get_or_fetch(key, fetch)


def open_original(*, owner_id: uuid.UUID, photo_id: str, range_header: str | None, if_range: str | None,
                  creds: settings.Credentials | None = None) -> UpstreamMedia:
    client = settings.client_with(creds or settings.credentials(owner_id))
    return client.open_original(photo_id, range_header=range_header, if_range=if_range)
