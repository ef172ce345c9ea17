"""The app's shared components, built once by the factory from the config and read through
one typed accessor: the key ring, the Immich upstreams, the search page executor, the search
cache, the revocation store, the decrypted credentials, the thumbnail cache and the optional
Redis client (a service.shared_redis.GuardedRedis: short timeouts and a circuit breaker). Only
types are imported here, so
any layer may read the registry without importing the layers above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from redis import Redis

    from service.auth.media_access import VerifiedTokens
    from service.auth.oidc import OidcProvider
    from service.auth.revocation import RevocationStore
    from service.crypto import KeyRing
    from service.immich.client import Upstreams
    from service.immich.settings import CredentialCache
    from service.library.encoded_photos import EncodedPhotos
    from service.library.sync import IndexSyncer
    from service.photos.map_data import ColumnsCache, MapColumns
    from service.photos.page_pool import PagePool
    from service.photos.search_cache import RangeCache
    from service.photos.thumbnail_cache import ThumbnailCache

EXTENSION_KEY = "photo_atlas"


@dataclass(frozen=True)
class Components:
    key_ring: KeyRing
    upstreams: Upstreams
    search_executor: PagePool
    search_cache: RangeCache
    revocations: RevocationStore
    credentials: CredentialCache
    thumbnail_cache: ThumbnailCache | None  # None when THUMBNAIL_CACHE_MB=0
    redis: Redis | None
    index_syncer: IndexSyncer
    verified_tokens: VerifiedTokens
    map_columns: ColumnsCache[MapColumns]
    encoded_photos: ColumnsCache[EncodedPhotos]
    # The OpenID Connect provider, when OIDC_ISSUER is set.
    oidc: OidcProvider | None = None

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self

    def close(self) -> None:
        """Release threads, pooled connections and the Redis client (tests, shutdown)."""
        self.search_executor.shutdown(wait=False, cancel_futures=True)
        self.index_syncer.close()
        self.upstreams.close()
        if self.thumbnail_cache is not None:
            self.thumbnail_cache.close()
        if self.oidc is not None:
            self.oidc.close()
        if self.redis is not None:
            self.redis.close()


def components(app: Flask | None = None) -> Components:
    """The components of `app`, or of the current app."""
    found: Components = (app or current_app).extensions[EXTENSION_KEY]
    return found
