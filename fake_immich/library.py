"""The fake's photo libraries: every asset, indexed per user, and the queries Immich answers.

Thread-safe: the HTTP threads and the test's own thread share one ``Library``.
"""

from __future__ import annotations

import bisect
import hashlib
import operator
import threading
import uuid
from datetime import datetime

from . import sample_libraries
from .accounts import API_KEYS, USERS
from .assets import FakeAsset, asset_json_text, color_of, dt_of, haversine_m, iter_original, ms_of
from .search_filters import FAST_KEYS, metadata_filters

_SORT_KEY = operator.attrgetter("sort_ms", "id")


class _UserIndex:
    """A user's assets sorted by (fileCreatedAt, id), with per-filter views built on demand."""

    def __init__(self) -> None:
        self.sorted: list[FakeAsset] = []
        self.views: dict[tuple[str | None, bool], tuple[list[int], list[FakeAsset]]] = {}
        self.usage = 0

    def add(self, assets: list[FakeAsset]) -> None:
        self.sorted.extend(assets)
        self.sorted.sort(key=_SORT_KEY)
        self.views.clear()
        self.usage += sum(a.size for a in assets)

    def view(self, kind: str | None, with_deleted: bool) -> tuple[list[int], list[FakeAsset]]:
        key = (kind, with_deleted)
        found = self.views.get(key)
        if found is None:
            assets = [a for a in self.sorted if (kind is None or a.type == kind) and (with_deleted or not a.is_trashed)]
            found = ([a.sort_ms for a in assets], assets)
            self.views[key] = found
        return found


def user_of(user_or_key: str) -> str:
    """``"alice"`` for ``"alice"`` or for any of alice's API keys."""
    if user_or_key in USERS:
        return user_or_key
    key = API_KEYS.get(user_or_key)
    if key is None:
        raise KeyError(f"unknown API key or user {user_or_key!r}")
    return key.user


def ms_from(value: datetime | str | int | None) -> int | None:
    """Milliseconds since the epoch from a datetime, an ISO 8601 string or milliseconds."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ms_of(value)


class Library:
    """alice's and bob's assets (built deterministically), plus whatever tests add."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._asset_texts: dict[tuple[str, bool], str] = {}
        self._assets: dict[str, FakeAsset] = {}
        self._index: dict[str, _UserIndex] = {u: _UserIndex() for u in USERS}
        alice, self.special = sample_libraries.build_alice()
        bob, self.bob_special = sample_libraries.build_bob()
        self._add(alice)
        self._add(bob)

    # ---- reading ----------------------------------------------------------------------------

    @property
    def assets(self) -> list[FakeAsset]:
        with self._lock:
            return list(self._assets.values())

    def asset(self, asset_id: str) -> FakeAsset:
        return self._assets[asset_id]

    def assets_of(self, user_or_key: str) -> list[FakeAsset]:
        user = user_of(user_or_key)
        with self._lock:
            return [a for a in self._assets.values() if a.owner_key_user == user]

    def owned(self, user: str, asset_id: str) -> FakeAsset | None:
        """The asset when it exists and belongs to ``user``, else None."""
        asset = self._assets.get(asset_id)
        return asset if asset is not None and asset.owner_key_user == user else None

    def usage(self, user: str) -> int:
        with self._lock:
            return self._index[user].usage

    def asset_text(self, asset: FakeAsset, with_exif: bool) -> str:
        """An asset's JSON, built once: assets never change, and a server as fast as a real
        one keeps the fake's own CPU out of what the benchmarks measure."""
        key = (asset.id, with_exif)
        text = self._asset_texts.get(key)
        if text is None:
            text = self._asset_texts[key] = asset_json_text(asset, with_exif=with_exif)
        return text

    def original_bytes(self, asset_id: str, start: int = 0, end: int | None = None) -> bytes:
        """The original's bytes start..end (inclusive, like an HTTP range)."""
        asset = self.asset(asset_id)
        last = asset.size - 1 if end is None else min(end, asset.size - 1)
        if start > last:
            return b""
        return b"".join(iter_original(asset, start, last))

    # ---- adding -----------------------------------------------------------------------------

    def _add(self, assets: list[FakeAsset]) -> None:
        with self._lock:
            by_user: dict[str, list[FakeAsset]] = {}
            for a in assets:
                if a.id in self._assets:
                    raise ValueError(f"duplicate asset id {a.id}")
                self._assets[a.id] = a
                by_user.setdefault(a.owner_key_user, []).append(a)
            for user, items in by_user.items():
                self._index[user].add(items)

    def add_bulk_assets(
        self,
        key: str,
        n: int,
        *,
        start: datetime | str,
        end: datetime | str,
        center: tuple[float, float] = (48.8566, 2.3522),
        spread_km: float = 25.0,
        seed: object = 0,
    ) -> list[str]:
        """Add n IMAGE assets (GPS within spread_km of center, taken in [start, end])."""
        user = user_of(key)
        lo, hi = ms_from(start), ms_from(end)
        if lo is None or hi is None or lo > hi:
            raise ValueError("start must be before end")
        with self._lock:
            existing = len(self._index[user].sorted)
            made = sample_libraries.bulk_assets(
                user,
                n,
                start=dt_of(lo),
                end=dt_of(hi),
                center=center,
                spread_km=spread_km,
                seed=f"{seed}/{existing}",
            )
            self._add(made)
        return [a.id for a in made]

    def add_large_original(
        self,
        key: str,
        size: int,
        *,
        taken: datetime | str = "2000-01-01T12:00:00Z",
        name: str = "LARGE_ORIGINAL.jpg",
    ) -> str:
        """Add one JPEG IMAGE asset whose original is `size` bytes (generated on the fly, never
        held in memory); returns its id. Taken outside the usual windows unless `taken` says."""
        user = user_of(key)
        if size <= 0:
            raise ValueError("size must be positive")
        taken_ms = ms_from(taken)
        assert taken_ms is not None
        when = dt_of(taken_ms)
        with self._lock:
            serial = len(self._index[user].sorted)
            digest = hashlib.sha256(f"large/{user}/{size}/{serial}".encode()).hexdigest()
            asset_id = str(uuid.UUID(hex=digest[:32], version=4))
            ms = ms_of(when)
            asset = FakeAsset(
                id=asset_id,
                owner_key_user=user,
                owner_id=USERS[user]["id"],
                type="IMAGE",
                original_file_name=name,
                mime_type="image/jpeg",
                taken_at=when,
                file_created_at=when,
                latitude=None,
                longitude=None,
                city=None,
                country=None,
                is_trashed=False,
                size=size,
                created_ms=ms + 3_600_000,
                sort_ms=ms,
                color=color_of(asset_id),
            )
            self._add([asset])
        return asset_id

    # ---- queries ----------------------------------------------------------------------------

    def expected_search(
        self,
        key: str,
        start: datetime | str | None,
        end: datetime | str | None,
        *,
        lat: float | None = None,
        lon: float | None = None,
        radius_m: float | None = None,
    ) -> list[str]:
        """Ids a time-window search should return: the key's user's IMAGE, non-trashed assets
        with start <= taken <= end (and within radius_m of lat/lon when given), ascending by
        taken time then id."""
        user = user_of(key)
        geo = (lat, lon, radius_m)
        if any(v is not None for v in geo) and not all(v is not None for v in geo):
            raise ValueError("lat, lon and radius_m go together")
        lo, hi = ms_from(start), ms_from(end)
        with self._lock:
            keys, assets = self._index[user].view("IMAGE", False)
            i = bisect.bisect_left(keys, lo) if lo is not None else 0
            j = bisect.bisect_right(keys, hi) if hi is not None else len(keys)
            chosen = assets[i:j]
        if lat is not None and lon is not None and radius_m is not None:
            chosen = [a for a in chosen if a.has_gps and haversine_m(lat, lon, a.latitude, a.longitude) <= radius_m]
        return [a.id for a in chosen]

    def search(self, user: str, dto: dict) -> tuple[list[FakeAsset], str | None]:
        """One page of ``POST /search/metadata`` for a validated dto: (items, nextPage)."""
        size = dto.get("size") or 250
        page = dto.get("page") or 1
        desc = dto.get("order", "desc") == "desc"
        lo, hi = dto.get("takenAfter"), dto.get("takenBefore")
        offset = (page - 1) * size
        extra = metadata_filters(dto) if set(dto) - FAST_KEYS else []
        with self._lock:
            keys, assets = self._index[user].view(dto.get("type"), bool(dto.get("withDeleted")))
            i = bisect.bisect_left(keys, lo) if lo is not None else 0
            j = bisect.bisect_right(keys, hi) if hi is not None else len(keys)
            if extra:
                pool = [a for a in assets[i:j] if all(f(a) for f in extra)]
                i, j, assets = 0, len(pool), pool
        total = max(0, j - i)
        if desc:
            stop = j - offset
            items = assets[max(i, stop - size) : stop][::-1] if stop > i else []
        else:
            first = i + offset
            items = assets[first : min(j, first + size)] if first < j else []
        next_page = str(page + 1) if offset + size < total else None
        return items, next_page
