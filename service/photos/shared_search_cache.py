"""The search cache in Redis, shared by every app process: a range searched through one
instance is reused by the others, and single flight holds across processes too.

Same interface as SearchCache; entries are the photo lists as JSON, under keys that name
the user, their settings version and the range. A Redis failure never fails a search: it
falls back on `fallback` (a per-process cache), or loads directly without one. While Redis's
circuit is open (service.shared_redis), the fallback answers without asking Redis at all.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from redis import Redis
from redis.exceptions import RedisError

from service.photos.search import PhotoSet
from service.photos.search_cache import RangeCache, RangeKey
from service.shared_redis import DEPENDENCY, RedisUnavailable

log = logging.getLogger(__name__)

PREFIX = "photo-atlas:search:"

# Deletes the lock only if it is still ours: it may have expired and been taken by another.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class SharedSearchCache:
    def __init__(self, redis: Redis, *, ttl_seconds: float, lock_seconds: float = 30.0,
                 poll_seconds: float = 0.05, max_bytes: int = 64 * 1024 * 1024,
                 fallback: RangeCache | None = None) -> None:
        self.ttl = ttl_seconds
        self.lock_seconds = lock_seconds
        self.poll_seconds = poll_seconds
        self.max_bytes = max_bytes
        self._redis = redis
        self._fallback_cache = fallback

    def get_or_load(self, key: RangeKey, load: Callable[[], PhotoSet]) -> PhotoSet:
        if self.ttl <= 0:
            return load()
        if not getattr(self._redis, "available", True):
            return self._fallback(key, load)
        entry_key = self._entry_key(key)
        try:
            cached = self._redis.get(entry_key)
        except RedisError as exc:
            return self._fallback(key, load, exc)
        if cached is not None:
            return _decode(cached)
        return self._load_once(key, entry_key, load)

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _entry_key(key: RangeKey) -> str:
        return f"{PREFIX}entry:{key.owner_id}:{key.settings_version}:{key.start}:{key.end}"

    def _load_once(self, key: RangeKey, entry_key: str, load: Callable[[], PhotoSet]) -> PhotoSet:
        lock_key = entry_key + ":lock"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.lock_seconds
        try:
            while not self._redis.set(lock_key, token, nx=True, px=int(self.lock_seconds * 1000)):
                # Another process is loading this range: wait for its result, or for the
                # lock to go (it failed or took too long), then try to take the lock.
                time.sleep(self.poll_seconds)
                cached = self._redis.get(entry_key)
                if cached is not None:
                    return _decode(cached)
                if time.monotonic() > deadline:
                    return load()
        except RedisError as exc:
            return self._fallback(key, load, exc)
        try:
            cached = self._get(entry_key)
            if cached is not None:
                return _decode(cached)
            photos = load()
            self._store(entry_key, photos)
            return photos
        finally:
            try:
                self._redis.eval(_RELEASE, 1, lock_key, token)
            except RedisError:
                pass  # the lock expires on its own

    def _get(self, entry_key: str) -> Any:
        try:
            return self._redis.get(entry_key)
        except RedisError:
            return None

    def _store(self, entry_key: str, photos: PhotoSet) -> None:
        encoded = orjson.dumps(photos.photos)
        if len(encoded) > self.max_bytes:
            return
        try:
            self._redis.set(entry_key, encoded, px=int(self.ttl * 1000))
        except RedisError as exc:
            log.warning("search cache: could not store (%s)", type(exc).__name__)

    def _fallback(self, key: RangeKey, load: Callable[[], PhotoSet], exc: RedisError | None = None) -> PhotoSet:
        if exc is not None and not isinstance(exc, RedisUnavailable):  # the client logged that one
            log.warning("search cache: redis unavailable, using this process's cache",
                        extra={**DEPENDENCY, "outcome": type(exc).__name__})
        if self._fallback_cache is None:
            return load()
        return self._fallback_cache.get_or_load(key, load)


def _decode(raw: bytes | str) -> PhotoSet:
    return PhotoSet(orjson.loads(raw))
