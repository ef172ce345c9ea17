"""The fake's photo libraries: every asset, indexed per user, the queries Immich answers and
the hooks tests use to change a library while the app runs.

Thread-safe: the HTTP threads and the test's own thread share one ``Library``. An asset is
never changed in place: a change swaps in a new ``FakeAsset``, so a page being written keeps
a consistent snapshot.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import operator
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import asset_edits, location_track, sample_libraries
from .accounts import API_KEYS, USERS
from .assets import FakeAsset, asset_json_text, dt_of, haversine_m, iter_original, ms_of
from .search_filters import FAST_KEYS, metadata_filters
from .timeline import MAX_OFFSET_MS, TimelineFilter, month_of, month_span_ms, tally_key

_SORT_KEY = operator.attrgetter("sort_ms", "id")
_UPDATED_KEY = operator.attrgetter("updated_ms", "id")
_MEMO_LIMIT = 64  # derived results kept until the next change
_PRESENTATION_KEYS = frozenset({"page", "size", "order", "withExif", "withPeople"})


def _remove(items: list[FakeAsset], asset: FakeAsset, key: Callable[[FakeAsset], Any]) -> None:
    i = bisect.bisect_left(items, key(asset), key=key)
    if i < len(items) and items[i] is asset:
        del items[i]


class _UserIndex:
    """A user's assets sorted by (fileCreatedAt, id), and what the queries need, built on
    first use and kept current through every change after that."""

    def __init__(self) -> None:
        self.by_taken: list[FakeAsset] = []
        self.usage = 0
        self.added = 0  # assets added by the hooks, numbering their ids
        self._views: dict[tuple[str | None, bool], list[FakeAsset]] = {}
        self._by_updated: list[FakeAsset] | None = None
        self._tally: Counter[tuple[str, bool, str, bool, str]] | None = None

    def add(self, assets: list[FakeAsset]) -> None:
        self.by_taken.extend(assets)
        self.by_taken.sort(key=_SORT_KEY)
        self._views.clear()
        self._by_updated = None
        self._tally = None
        self.usage += sum(a.size for a in assets)

    def view(self, kind: str | None, with_deleted: bool) -> list[FakeAsset]:
        """The assets of one type (None: all), trashed ones only ``with_deleted``."""
        found = self._views.get((kind, with_deleted))
        if found is None:
            found = [a for a in self.by_taken if _in_view(a, kind, with_deleted)]
            self._views[(kind, with_deleted)] = found
        return found

    def by_updated(self) -> list[FakeAsset]:
        if self._by_updated is None:
            self._by_updated = sorted(self.by_taken, key=_UPDATED_KEY)
        return self._by_updated

    def tally(self) -> Counter[tuple[str, bool, str, bool, str]]:
        """Asset counts by (month, trashed, visibility, favorite, type)."""
        if self._tally is None:
            self._tally = Counter(tally_key(a) for a in self.by_taken)
        return self._tally

    def change(self, old: FakeAsset | None, new: FakeAsset | None) -> None:
        """Replace ``old`` by ``new`` (either may be None: an addition or a removal)."""
        if old is not None:
            _remove(self.by_taken, old, _SORT_KEY)
            self.usage -= old.size
        if new is not None:
            bisect.insort(self.by_taken, new, key=_SORT_KEY)
            self.usage += new.size
        for (kind, with_deleted), items in self._views.items():
            if old is not None:
                _remove(items, old, _SORT_KEY)
            if new is not None and _in_view(new, kind, with_deleted):
                bisect.insort(items, new, key=_SORT_KEY)
        if self._by_updated is not None:
            if old is not None:
                _remove(self._by_updated, old, _UPDATED_KEY)
            if new is not None:
                bisect.insort(self._by_updated, new, key=_UPDATED_KEY)
        if self._tally is not None:
            if old is not None:
                self._tally[tally_key(old)] -= 1
            if new is not None:
                self._tally[tally_key(new)] += 1


def _in_view(a: FakeAsset, kind: str | None, with_deleted: bool) -> bool:
    return (kind is None or a.type == kind) and (with_deleted or not a.is_trashed)


def _taken_range(items: list[FakeAsset], lo: int | None, hi: int | None) -> tuple[int, int]:
    """[i, j) of the items taken within [lo, hi] (ms, either end open when None)."""
    i = bisect.bisect_left(items, (lo, ""), key=_SORT_KEY) if lo is not None else 0
    j = bisect.bisect_left(items, (hi + 1, ""), key=_SORT_KEY) if hi is not None else len(items)
    return i, j


def _true_position(a: FakeAsset) -> tuple[float, float] | None:
    if a.is_trashed:
        return None
    if a.true_latitude is not None and a.true_longitude is not None:
        return a.true_latitude, a.true_longitude
    if a.latitude is not None and a.longitude is not None:
        return a.latitude, a.longitude
    return None


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


class AssetUpdateRefused(Exception):
    """An update Immich answers with 400 and this message."""


class Library:
    """alice's and bob's assets (built deterministically), plus whatever tests add."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._asset_texts: dict[tuple[str, bool], tuple[FakeAsset, str]] = {}
        self._assets: dict[str, FakeAsset] = {}
        self._index: dict[str, _UserIndex] = {u: _UserIndex() for u in USERS}
        self._memo: dict[tuple, Any] = {}
        self._last_ms = 0
        # Whether an exif edit through the API is followed by the metadata extraction that
        # bumps updatedAt (see asset_edits); False models a job chain that never ran.
        self.extract_metadata_after_edit = True
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
        """An asset's JSON, built once per version of the asset: a server as fast as a real one
        keeps the fake's own CPU out of what the benchmarks measure."""
        key = (asset.id, with_exif)
        cached = self._asset_texts.get(key)
        if cached is not None and cached[0] is asset:
            return cached[1]
        text = asset_json_text(asset, with_exif=with_exif)
        self._asset_texts[key] = (asset, text)
        return text

    def original_bytes(self, asset_id: str, start: int = 0, end: int | None = None) -> bytes:
        """The original's bytes start..end (inclusive, like an HTTP range)."""
        asset = self.asset(asset_id)
        last = asset.size - 1 if end is None else min(end, asset.size - 1)
        if start > last:
            return b""
        return b"".join(iter_original(asset, start, last))

    # ---- changing ---------------------------------------------------------------------------

    def _now_ms(self) -> int:
        """The database clock: the wall clock, but strictly increasing, so every change has an
        updatedAt of its own."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

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
            self._memo.clear()

    def _swap(self, old: FakeAsset, new: FakeAsset | None) -> None:
        """Put ``new`` where ``old`` was (None: delete it); the caller holds the lock."""
        assert self._assets[old.id] is old, "changes start from the current version"
        if new is None:
            del self._assets[old.id]
        else:
            self._assets[old.id] = new
        self._index[old.owner_key_user].change(old, new)
        self._memo.clear()

    def _new_id(self, user: str, purpose: str) -> str:
        index = self._index[user]
        index.added += 1
        digest = hashlib.sha256(f"{purpose}/{user}/{index.added}/{len(index.by_taken)}".encode()).hexdigest()
        return str(uuid.UUID(hex=digest[:32], version=4))

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
            existing = len(self._index[user].by_taken)
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
        if size <= 0:
            raise ValueError("size must be positive")
        taken_ms = ms_from(taken)
        assert taken_ms is not None
        return self.add_assets(key, {"taken": taken, "name": name, "size": size, "created_ms": taken_ms + 3_600_000})[0]

    def add_assets(self, key: str, *specs: Mapping[str, Any]) -> list[str]:
        """Upload assets now: each spec holds ``taken`` (datetime or ISO string) and any other
        keyword of ``sample_libraries.new_asset``: ``kind``, ``name`` or a ``FakeAsset`` field
        (``latitude``, ``city``, ``is_favorite``, ``true_latitude``, ...). createdAt and
        updatedAt are the current time. Returns the ids."""
        user = user_of(key)
        with self._lock:
            made = []
            for spec in specs:
                fields = dict(spec)
                taken = ms_from(fields.pop("taken"))
                assert taken is not None, "taken is required"
                now = self._now_ms()
                fields.setdefault("created_ms", now)
                asset = sample_libraries.new_asset(user, self._new_id(user, "added"), taken=dt_of(taken), **fields)
                made.append(dataclasses.replace(asset, updated_ms=now))
            for asset in made:
                self._assets[asset.id] = asset
                self._index[user].change(None, asset)
            self._memo.clear()
        return [a.id for a in made]

    def change_asset(self, asset_id: str, *, bump_updated_at: bool = True, **fields: Any) -> FakeAsset:
        """Change an asset's fields (``FakeAsset`` names; ``taken=`` moves dateTimeOriginal and
        fileCreatedAt together). With ``bump_updated_at=False`` the asset's updatedAt stays, as
        when only its exif row changed in Immich. Returns the changed asset."""
        with self._lock:
            old = self._assets[asset_id]
            if "taken" in fields:
                taken = ms_from(fields.pop("taken"))
                assert taken is not None
                fields.update(taken_at=dt_of(taken), file_created_at=dt_of(taken), sort_ms=taken)
            if bump_updated_at:
                fields["updated_ms"] = self._now_ms()
            new = dataclasses.replace(old, **fields)
            self._swap(old, new)
            return new

    def trash(self, asset_id: str) -> FakeAsset:
        """Move an asset to the trash, as ``DELETE /assets`` without ``force`` does."""
        with self._lock:
            return self.change_asset(asset_id, is_trashed=True, deleted_ms=self._now_ms())

    def restore(self, asset_id: str) -> FakeAsset:
        """Bring an asset back from the trash, as ``POST /trash/restore/assets`` does."""
        return self.change_asset(asset_id, is_trashed=False, deleted_ms=None)

    def delete_permanently(self, asset_id: str) -> None:
        """Remove an asset for good: gone from search, buckets, statistics and media."""
        with self._lock:
            self._swap(self._assets[asset_id], None)

    def update_asset(self, user: str, asset_id: str, dto: dict) -> FakeAsset:
        """``PUT /assets/{id}`` with a validated dto; returns the asset as the answer shows it
        (see asset_edits for what moves updatedAt, and when)."""
        with self._lock:
            old = self._require_owned(user, [asset_id])[0]
            video_id = dto.get("livePhotoVideoId")
            if video_id is not None:
                self._link_check(user, video_id)
            new = asset_edits.edit_asset_row(asset_edits.edit_exif(old, dto), dto, self._now_ms())
            self._swap(old, new)
            if video_id is not None:
                video = self._assets[video_id]
                if video.visibility == "timeline":
                    self._swap(video, dataclasses.replace(video, visibility="hidden", updated_ms=self._now_ms()))
            answered = self._assets[asset_id]
            if any(name in dto for name in asset_edits.EXIF_FIELDS):
                self._after_sidecar_write(answered)
            return answered

    def update_assets(self, user: str, dto: dict) -> None:
        """``PUT /assets`` with a validated dto."""
        with self._lock:
            now = self._now_ms()
            for old in self._require_owned(user, list(dict.fromkeys(dto["ids"]))):
                new = asset_edits.edit_asset_row(asset_edits.edit_exif(old, dto), dto, now)
                self._swap(old, new)
                self._after_sidecar_write(new)  # a sidecar write is queued for every id, whatever changed

    def _require_owned(self, user: str, asset_ids: list[str]) -> list[FakeAsset]:
        found = [self.owned(user, asset_id) for asset_id in asset_ids]
        if any(asset is None for asset in found):
            raise AssetUpdateRefused("Not found or no asset.update access")
        return [asset for asset in found if asset is not None]

    def _link_check(self, user: str, video_id: str) -> None:
        video = self._assets.get(video_id)
        if video is None:
            raise AssetUpdateRefused("Live photo video not found")
        if video.type != "VIDEO":
            raise AssetUpdateRefused("Live photo video must be a video")
        if video.owner_key_user != user:
            raise AssetUpdateRefused("Live photo video does not belong to the user")

    def _after_sidecar_write(self, asset: FakeAsset) -> None:
        if self.extract_metadata_after_edit:
            self._swap(asset, asset_edits.extract_metadata(asset, self._now_ms()))

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
        with self._lock:
            assets = self._index[user].view("IMAGE", False)
            i, j = _taken_range(assets, ms_from(start), ms_from(end))
            chosen = assets[i:j]
        if lat is not None and lon is not None and radius_m is not None:
            chosen = [a for a in chosen if a.has_gps and haversine_m(lat, lon, a.latitude, a.longitude) <= radius_m]
        return [a.id for a in chosen]

    def search(self, user: str, dto: dict) -> tuple[list[FakeAsset], str | None]:
        """One page of ``POST /search/metadata`` for a validated dto: (items, nextPage)."""
        size = dto.get("size") or 250
        page = dto.get("page") or 1
        offset = (page - 1) * size
        with self._lock:
            assets, i, j = self._search_pool(user, dto)
        total = max(0, j - i)
        if dto.get("order", "desc") == "desc":
            stop = j - offset
            items = assets[max(i, stop - size) : stop][::-1] if stop > i else []
        else:
            first = i + offset
            items = assets[first : min(j, first + size)] if first < j else []
        next_page = str(page + 1) if offset + size < total else None
        return items, next_page

    def _search_pool(self, user: str, dto: dict) -> tuple[list[FakeAsset], int, int]:
        """The matching assets in (fileCreatedAt, id) order, as a list and a [i, j) range."""
        # Immich: a trashedAfter/trashedBefore (or isOffline) filter implies withDeleted.
        with_deleted = bool(dto.get("withDeleted") or "trashedAfter" in dto or "trashedBefore" in dto)
        with_deleted = with_deleted or bool(dto.get("isOffline"))
        index = self._index[user]
        view = index.view(dto.get("type"), with_deleted)
        lo, hi = dto.get("takenAfter"), dto.get("takenBefore")
        i, j = _taken_range(view, lo, hi)
        if not set(dto) - FAST_KEYS:
            return view, i, j
        filters = tuple(sorted((k, repr(v)) for k, v in dto.items() if k not in _PRESENTATION_KEYS))
        memo_key = ("search", user, with_deleted, filters)
        pool = self._memo.get(memo_key)
        if pool is None:
            tests = metadata_filters(dto)
            by_updated, a, b = [], 0, 0
            if "updatedAfter" in dto or "updatedBefore" in dto:
                by_updated = index.by_updated()
                a = bisect.bisect_left(by_updated, (dto.get("updatedAfter", -(2**62)), ""), key=_UPDATED_KEY)
                b = bisect.bisect_left(by_updated, (dto.get("updatedBefore", 2**62) + 1, ""), key=_UPDATED_KEY)
            if by_updated and b - a < (j - i) // 8:
                # An incremental sync asks for few assets: start from the updatedAt order.
                kind = dto.get("type")
                candidates = (
                    x
                    for x in by_updated[a:b]
                    if _in_view(x, kind, with_deleted)
                    and (lo is None or x.sort_ms >= lo)
                    and (hi is None or x.sort_ms <= hi)
                )
                pool = sorted((x for x in candidates if all(t(x) for t in tests)), key=_SORT_KEY)
            else:
                pool = [x for x in view[i:j] if all(t(x) for t in tests)]
            self._remember(memo_key, pool)
        return pool, 0, len(pool)

    def _remember(self, key: tuple, value: Any) -> None:
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value

    def time_buckets(self, user: str, query: TimelineFilter, *, ascending: bool) -> list[dict]:
        """``GET /timeline/buckets``: [{timeBucket, count}] by month of localDateTime."""
        with self._lock:
            counts: Counter[str] = Counter()
            if query.bbox is None:
                for (month, trashed, visibility, favorite, _kind), n in self._index[user].tally().items():
                    if n and query.tally_matches(trashed, visibility, favorite):
                        counts[month] += n
            else:
                counts.update(month_of(a.local_ms) for a in self._index[user].by_taken if query.matches(a))
        months = sorted(counts, reverse=not ascending)
        return [{"timeBucket": m, "count": counts[m]} for m in months]

    def time_bucket(self, user: str, month: str, query: TimelineFilter, *, ascending: bool) -> list[FakeAsset]:
        """``GET /timeline/bucket``: the month's assets by fileCreatedAt."""
        start, end = month_span_ms(month)
        with self._lock:
            by_taken = self._index[user].by_taken
            i, j = _taken_range(by_taken, start - MAX_OFFSET_MS, end + MAX_OFFSET_MS)
            chosen = [a for a in by_taken[i:j] if start <= a.local_ms < end and query.matches(a)]
        return chosen if ascending else chosen[::-1]

    def statistics(self, user: str, query: TimelineFilter) -> dict[str, int]:
        """``GET /assets/statistics``: {images, videos, total}."""
        by_type: Counter[str] = Counter()
        with self._lock:
            for (_month, trashed, visibility, favorite, kind), n in self._index[user].tally().items():
                if query.tally_matches(trashed, visibility, favorite):
                    by_type[kind] += n
        return {"images": by_type["IMAGE"], "videos": by_type["VIDEO"], "total": sum(by_type.values())}

    def gpx_track(
        self,
        key: str,
        start: datetime | str,
        end: datetime | str,
        *,
        every_seconds: float = 60,
        noise_m: float = 0.0,
        camera_clock_offset_seconds: float = 0,
        seed: object = 0,
    ) -> str:
        """A GPX track of where the user was between start and end: the true positions of
        their assets (the hidden ``true_latitude``/``true_longitude``, else the GPS), joined by
        straight lines, sampled every ``every_seconds``. ``camera_clock_offset_seconds``: how
        far the camera's clock ran ahead of true time; the track keeps true time, so its
        points sit that much earlier than the photos' own times."""
        user = user_of(key)
        lo, hi = ms_from(start), ms_from(end)
        shift = int(camera_clock_offset_seconds * 1000)
        with self._lock:
            by_taken = self._index[user].by_taken
            i, j = _taken_range(by_taken, lo, hi)
            fixes = [(a.sort_ms - shift, *where) for a in by_taken[i:j] if (where := _true_position(a)) is not None]
        points = location_track.sample_track(fixes, every_seconds=every_seconds, noise_m=noise_m, seed=seed)
        return location_track.gpx(points, name=f"{USERS[user]['name']} {start} – {end}")
