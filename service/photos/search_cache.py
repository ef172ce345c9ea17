"""A short-lived per-user cache of searched ranges, with single flight: two identical
searches at once cost one pass over Immich. Entries are keyed by the user's settings
version, so a save or a deletion of the settings makes them unreachable by construction."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from service.photos.search import PhotoSet


@dataclass(frozen=True)
class RangeKey:
    """One user's searched range under one version of their settings."""

    owner_id: uuid.UUID
    settings_version: str
    start: str  # ISO 8601 UTC
    end: str


class RangeCache(Protocol):
    def get_or_load(self, key: RangeKey, load: Callable[[], PhotoSet]) -> PhotoSet: ...


class SearchCache:
    def __init__(self, *, ttl_seconds: float, max_photos: int = 1_000_000) -> None:
        self.ttl = ttl_seconds
        self.max_photos = max_photos
        self._lock = threading.Lock()
        self._entries: OrderedDict[RangeKey, tuple[float, PhotoSet]] = OrderedDict()
        self._held = 0
        self._loading: dict[RangeKey, Future[PhotoSet]] = {}

    def get_or_load(self, key: RangeKey, load: Callable[[], PhotoSet]) -> PhotoSet:
        if self.ttl <= 0:
            return load()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[0] > time.monotonic():
                self._entries.move_to_end(key)
                return entry[1]
            pending = self._loading.get(key)
            leader = pending is None
            if leader:
                pending = self._loading[key] = Future()
        assert pending is not None
        if not leader:
            return pending.result()
        try:
            photos = load()
        except BaseException as exc:
            with self._lock:
                self._loading.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._loading.pop(key, None)
            self._store(key, photos)
        pending.set_result(photos)
        return photos

    def _store(self, key: RangeKey, photos: PhotoSet) -> None:
        if key in self._entries:
            self._drop(key)
        if len(photos) > self.max_photos:
            return
        self._entries[key] = (time.monotonic() + self.ttl, photos)
        self._held += len(photos)
        while self._held > self.max_photos:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: RangeKey) -> None:
        _, photos = self._entries.pop(key)
        self._held -= len(photos)
