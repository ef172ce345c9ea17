"""A short-lived per-user cache of searched ranges, with single flight: two identical
searches at once cost one pass over Immich."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from service.photos.search import PhotoSet


class SearchCache:
    def __init__(self, *, ttl_seconds: float, max_photos: int = 1_000_000) -> None:
        self.ttl = ttl_seconds
        self.max_photos = max_photos
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, PhotoSet]] = OrderedDict()
        self._held = 0
        self._loading: dict[tuple[Any, ...], Future[PhotoSet]] = {}

    def get_or_load(self, key: tuple[Any, ...], load: Callable[[], PhotoSet]) -> PhotoSet:
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

    def invalidate_user(self, user_id: Any) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[0] == user_id]:
                self._drop(key)

    def _store(self, key: tuple[Any, ...], photos: PhotoSet) -> None:
        if key in self._entries:
            self._drop(key)
        if len(photos) > self.max_photos:
            return
        self._entries[key] = (time.monotonic() + self.ttl, photos)
        self._held += len(photos)
        while self._held > self.max_photos:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        _, photos = self._entries.pop(key)
        self._held -= len(photos)
