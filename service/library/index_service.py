"""The library index as the rest of the app sees it: its status, starting a sync, and
answering a search from it when it is ready for the user's current settings."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from service.components import components
from service.errors import AppError
from service.immich import settings
from service.library import snapshots, store
from service.library.asset_rows import EPOCH, iso_ms, photos_of
from service.library.encoded_photos import EncodedPhotos
from service.models import LibraryIndexState
from service.photos.map_data import MapColumns
from service.photos.search import PhotoSet, SearchQuery


def status(*, user_id: uuid.UUID) -> dict[str, Any]:
    settings.credentials(user_id)  # 409 when Immich is not configured or is disabled
    return describe(store.state(user_id))


def request_sync(*, user_id: uuid.UUID) -> dict[str, Any]:
    """Start a sync now (or join the running one); the status as it now stands."""
    settings.credentials(user_id)
    syncer = components().index_syncer
    if not syncer.settings.enabled:
        raise IndexDisabled()
    syncer.start(current_app._get_current_object(), user_id)  # type: ignore[attr-defined]
    body = describe(store.state(user_id))
    if body["status"] == "ready":
        body["refreshing"] = True
    else:
        body["status"] = "syncing"
    return body


def sync_soon(*, user_id: uuid.UUID) -> None:
    """After the settings were saved: bring the index in step with them."""
    components().index_syncer.start(current_app._get_current_object(), user_id)  # type: ignore[attr-defined]


def search(*, user_id: uuid.UUID, settings_version: str, query: SearchQuery) -> tuple[PhotoSet, str] | None:
    """The query's photos from the index, with when it was last synced; None when the index
    cannot answer (turned off, not synced yet, or checked against other settings). Starts a
    refresh behind the answer when the index is due one."""
    found = _usable_state(user_id, settings_version)
    if found is None or found.last_synced_at is None:
        return None
    rows = store.photos_in_range(user_id, start_ms=_ms(query.start), end_ms=_ms(query.end), circle=query.circle)
    return PhotoSet(photos_of(rows)), _iso(found.last_synced_at)


def map_columns(*, user_id: uuid.UUID, settings_version: str, query: SearchQuery) -> tuple[MapColumns, str] | None:
    """The range's images as the map's columns, from the index (read once per change of its
    rows and kept in this process), with when it was last synced; None when the index cannot
    answer."""
    found = _usable_state(user_id, settings_version)
    if found is None or found.last_synced_at is None:
        return None
    version = _rows_version(settings_version, found)
    columns = components().map_columns.get_or_load((user_id, version), lambda: snapshots.columns(user_id, version))
    return columns.within(_ms(query.start), _ms(query.end)), _iso(found.last_synced_at)


def encoded_search(*, user_id: uuid.UUID, settings_version: str, query: SearchQuery,
                   url_prefix: str) -> tuple[bytes, int, str] | None:
    """The JSON array of the query's photos (URLs under url_prefix), how many, and when the
    index was last synced, from the index as this process keeps it encoded (read once per
    change of its rows); None when the index cannot answer."""
    found = _usable_state(user_id, settings_version)
    if found is None or found.last_synced_at is None:
        return None

    def load() -> EncodedPhotos:
        with store.collector_paused():
            return EncodedPhotos.build(store.photo_rows(user_id), url_prefix)

    key = (user_id, _rows_version(settings_version, found), url_prefix)
    photos = components().encoded_photos.get_or_load(key, load)
    encoded, count = photos.select(_ms(query.start), _ms(query.end), query.circle)
    return encoded, count, _iso(found.last_synced_at)


def _rows_version(settings_version: str, found: LibraryIndexState) -> str:
    return snapshots.version_of(settings_version, found.owner_identity, found.indexed_count, found.high_water_ms,
                                found.last_reconciled_at)


def photos_by_ids(*, user_id: uuid.UUID, asset_ids: list[str]) -> PhotoSet:
    return PhotoSet(photos_of(store.photos_by_ids(user_id, asset_ids)))


def _usable_state(user_id: uuid.UUID, settings_version: str) -> LibraryIndexState | None:
    """The index's state if it can answer for these settings; starts a refresh when due."""
    syncer = components().index_syncer
    if not syncer.settings.enabled:
        return None
    found = store.state(user_id)
    usable = bool(found and found.ready and found.verified_version == settings_version and found.last_synced_at)
    syncer.refresh_if_due(current_app._get_current_object(), user_id, found, usable)  # type: ignore[attr-defined]
    return found if usable else None


def describe(found: LibraryIndexState | None) -> dict[str, Any]:
    if found is None:
        return {"status": "empty", "indexedCount": 0, "refreshing": False, "lastSyncedAt": None,
                "lastError": None, "progress": None}
    running = store.lease_held(found)
    if found.ready:
        status_ = "ready"  # and stays so while a refresh runs, or after one failed
    elif running:
        status_ = "syncing"
    elif found.last_error:
        status_ = "error"
    else:
        status_ = "empty"
    progress = None
    if running and found.progress_done is not None:
        progress = {"done": found.progress_done, "total": found.progress_total}
    return {
        "status": status_,
        "indexedCount": found.indexed_count,
        "refreshing": running and found.ready,
        "lastSyncedAt": _iso(found.last_synced_at) if found.last_synced_at else None,
        "lastError": found.last_error,
        "progress": progress,
    }


class IndexDisabled(AppError):
    status = 409
    code = "index_disabled"
    message = "The library index is turned off on this server; searches ask Immich directly"


def _ms(value: datetime) -> int:
    return (store.as_utc(value) - EPOCH) // timedelta(milliseconds=1)


def _iso(value: datetime) -> str:
    return iso_ms(_ms(store.as_utc(value))) or ""
