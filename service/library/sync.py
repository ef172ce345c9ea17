"""Keeping a user's index in step with Immich, on background threads.

A sync holds the user's lease (one at a time across every process) and does one of:
- a full sync, the first time: every asset, pages fetched concurrently, written in bulk;
- an incremental sync: assets updated since the last one (trashed ones included, and
  removed), then Immich's per-month counts compared with the index's, and only the months
  that differ re-read (that is how permanent deletions are found);
- every INDEX_RECONCILE_SECONDS, also a reconcile: each month's ids, times and coordinates
  compared with the index, because Immich keeps a photo's location and capture time in its
  exif table, whose edits do not move the asset's own updatedAt.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from service.immich import settings
from service.immich.client import (
    ImmichAddressRefused,
    ImmichClient,
    ImmichError,
    ImmichPermissionError,
    ImmichTimeout,
    ImmichUnavailable,
    search_query,
)
from service.library import snapshots, store
from service.library.asset_rows import (
    ASSET_ID,
    NotAssets,
    SplitPage,
    assets_of,
    decode_assets,
    epoch_ms,
    iso_ms,
    split_assets,
)
from service.models import LibraryIndexState, utcnow
from service.photos.search import PAGE_SIZE, fetch_page, pages

log = logging.getLogger(__name__)

OVERLAP_MS = 10 * 60_000  # updatedAfter reaches this far back: clocks and commits are not exact
MONTH_MARGIN_MS = 14 * 3_600_000  # a local month spans these hours more in UTC, either side
MAX_BACKOFF_SECONDS = 3600
PAGE_ATTEMPTS = 3  # a page Immich failed to give is asked for again, after 0.5 s, then 1 s
PAGE_RETRY_SECONDS = 0.5
COMMIT_SECONDS = 1.0  # a full sync's pages are committed (and its progress shown) this often
MAX_SYNC_PAGES = 20_000  # 20 million assets: past that, a server offering pages forever is cut off


@dataclass(frozen=True)
class IndexSettings:
    enabled: bool = True
    refresh_seconds: int = 300
    reconcile_seconds: int = 3600
    window: int = 8  # pages or months in flight at once
    lease_seconds: float = 60.0  # how long a sync whose process died blocks the next one


class LeaseLost(Exception):
    """The lease is no longer ours (another process took it when ours expired, or it went
    with the settings): stop writing."""


class IndexSyncer:
    """Starts syncs on this process's background threads, at most one queued per user."""

    def __init__(self, index_settings: IndexSettings) -> None:
        self.settings = index_settings
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="index-sync")
        self._pages = ThreadPoolExecutor(max_workers=index_settings.window, thread_name_prefix="index-pages")
        self._idle = threading.Condition()
        self._queued: dict[uuid.UUID, Future[None]] = {}

    def start(self, app: Flask, user_id: uuid.UUID) -> None:
        if not self.settings.enabled:
            return
        with self._idle:
            if user_id in self._queued:
                return
            self._queued[user_id] = self._threads.submit(self._run, app, user_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until this process runs no sync (tests, benchmarks); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._queued, timeout)

    def refresh_if_due(self, app: Flask, user_id: uuid.UUID, found: LibraryIndexState | None,
                       usable: bool) -> None:
        """Stale-while-revalidate: start a sync when the index is missing, unusable or old,
        unless one is running or the last failure's backoff has not passed."""
        now = utcnow()
        if found is not None:
            if store.lease_held(found, now):
                return
            if found.retry_after is not None and store.as_utc(found.retry_after) > now:
                return
            synced = found.last_synced_at
            fresh = synced is not None and now - store.as_utc(synced) < timedelta(seconds=self.settings.refresh_seconds)
            if usable and fresh:
                return
        self.start(app, user_id)

    def close(self, *, wait_seconds: float = 10.0) -> None:
        """Stop taking syncs and give a running one a moment to finish (its lease expires
        anyway if it does not)."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        with self._idle:
            for user_id in [u for u, future in self._queued.items() if future.cancelled()]:
                del self._queued[user_id]
        self.wait_idle(wait_seconds)
        self._pages.shutdown(wait=False, cancel_futures=True)

    def _run(self, app: Flask, user_id: uuid.UUID) -> None:
        try:
            with app.app_context():
                sync_user(user_id, index_settings=self.settings, executor=self._pages)
        except Exception as exc:  # noqa: BLE001 - a background thread has no caller to raise to
            log.error("index sync failed: %s", type(exc).__name__)
        finally:
            with self._idle:
                self._queued.pop(user_id, None)
                self._idle.notify_all()


def sync_user(user_id: uuid.UUID, *, index_settings: IndexSettings, executor: Executor) -> None:
    """Bring one user's index up to date, if nobody else is doing it right now."""
    try:
        creds = settings.credentials(user_id)
    except settings.NotConfigured:
        return
    store.ensure_state(user_id)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not store.take_lease(user_id, owner=owner, seconds=index_settings.lease_seconds):
        return
    run = _SyncRun(user_id, owner, settings.client_with(creds), executor, index_settings)
    try:
        with store.bulk_writes(), store.collector_paused():
            run.sync(creds)
    except ImmichError as exc:
        run.failed(exc.message)
    except LeaseLost:
        log.warning("index sync: lease lost, another process carries on")
    except Exception:
        run.failed("The index could not be updated; it will be tried again")
        raise
    finally:
        store.release_lease(user_id, owner=owner)


class _SyncRun:
    """One sync of one user's index, holding the lease."""

    def __init__(self, user_id: uuid.UUID, owner: str, client: ImmichClient, executor: Executor,
                 index_settings: IndexSettings) -> None:
        self.user_id = user_id
        self.owner = owner
        self.client = client
        self.executor = executor
        self.settings = index_settings
        self._renewed = self._committed = time.monotonic()
        self._streamed: snapshots.Streamed | None = None  # a first full sync's snapshot, packed as it goes

    def sync(self, creds: settings.Credentials) -> None:
        found = self._state()
        # Whose library the key reads is asked alongside a first sync's first page (it is
        # known before anything is written), and before anything else otherwise.
        identity = None if found.verified_version == creds.version else self.executor.submit(self._identity, creds)
        if identity is not None and found.ready and found.high_water_ms is not None:
            found = self._verified(identity, creds)
            identity = None
        now = utcnow()
        reconciled: datetime | None = now
        if not found.ready or found.high_water_ms is None:
            self._full(lambda: self._verified(identity, creds))
        else:
            buckets = self._incremental(found.high_water_ms)
            reconciled = found.last_reconciled_at
            due = reconciled is None or now - store.as_utc(reconciled) >= timedelta(
                seconds=self.settings.reconcile_seconds)
            if due:
                self._reconcile(buckets)
                reconciled = now
        count = store.count(self.user_id)
        self._snapshot(creds.version, count, reconciled)
        store.set_state(self.user_id, ready=True, last_synced_at=utcnow(), last_reconciled_at=reconciled,
                        indexed_count=count, last_error=None, failures=0,
                        retry_after=None, progress_done=None, progress_total=None)

    def _verified(self, identity: Future[str] | None, creds: settings.Credentials) -> LibraryIndexState:
        """The state once the key's owner (being asked, if `identity`) is checked: when the key
        reads another Immich user's library than the index holds, the index is emptied."""
        if identity is not None:
            owner = identity.result()
            found = self._state()
            if found.owner_identity != owner:
                # Another Immich user's library: never serve a row of it again.
                store.set_state(self.user_id, ready=False, owner_identity=owner, high_water_ms=None,
                                indexed_count=0, last_synced_at=None, last_reconciled_at=None)
                store.wipe(self.user_id)
            store.set_state(self.user_id, verified_version=creds.version)
        return self._state()

    def _state(self) -> LibraryIndexState:
        found = store.state(self.user_id)
        if found is None:  # gone with the settings
            raise LeaseLost()
        return found

    def _snapshot(self, settings_version: str, count: int, reconciled: datetime | None) -> None:
        """Pack the map's columns of the rows as they now stand, in the transaction that will
        say the index is ready, so that no process reads every row for its first map."""
        found = self._state()
        version = snapshots.version_of(settings_version, found.owner_identity, count, found.high_water_ms, reconciled)
        if store.snapshot_version(self.user_id) == version:
            return  # a refresh that found nothing new
        try:
            if self._streamed is None or not self._streamed.name(version, count):
                snapshots.write(self.user_id, version)
        except SQLAlchemyError as exc:  # the index still answers; a process reads the rows instead
            store.rollback()
            log.warning("index snapshot not written: %s", type(exc).__name__)

    def failed(self, message: str) -> None:
        found = store.state(self.user_id)
        failures = (found.failures if found else 0) + 1
        backoff = min(MAX_BACKOFF_SECONDS, 15 * 2 ** min(failures, 12))
        store.set_state(self.user_id, last_error=message[:500], failures=failures,
                        retry_after=utcnow() + timedelta(seconds=backoff), progress_done=None, progress_total=None)
        log.warning("index sync: Immich failed (%d in a row), next try in %d s", failures, backoff)

    # ------------------------------------------------------------------ the three kinds

    def _full(self, verified: Callable[[], object]) -> None:
        """Every asset. Immich's count of them (for the progress) and `verified`'s check of
        the key are asked while the first page is: they are waited for only when needed."""
        total = self.executor.submit(self._total)
        done, high, new = 0, None, False
        for number, (rows, _gone, page_high, seen) in enumerate(self._changed_pages()):
            if number == 0:
                verified()
                new = store.count(self.user_id) == 0  # else a sync that did not finish left rows to replace
                if new:
                    self._streamed = snapshots.Streamed(self.user_id)
                store.set_state(self.user_id, progress_done=0, progress_total=_done_or_none(total))
            done += seen
            if page_high is not None and (high is None or page_high > high):
                high = page_high
            if new:
                new = store.insert_new(self.user_id, rows)
            else:
                store.write_page(self.user_id, rows)
            if self._streamed is not None:
                if new:
                    self._streamed.add(rows)
                else:  # a row replaced another
                    self._streamed.spoil()
            if self._commit_due():  # the progress is seen once committed: it is set only then
                self._commit(progress_done=done, indexed_count=done, progress_total=_done_or_none(total))
        self._commit(high_water_ms=high)

    def _total(self) -> int | None:
        """How many assets Immich holds for the key, or None when it may not say."""
        try:
            return self.client.asset_statistics()["total"]
        except ImmichPermissionError:
            return None

    def _incremental(self, high_water_ms: int) -> dict[str, int]:
        high = high_water_ms
        for rows, gone, page_high, _seen in self._changed_pages(
                updated_after=iso_ms(high_water_ms - OVERLAP_MS), with_deleted=True):
            store.write_page(self.user_id, rows, gone)
            high = max(high, page_high or 0)
            self._commit()
        self._commit(high_water_ms=high)
        theirs = self.client.time_buckets()
        ours = store.bucket_counts(self.user_id)
        differing = sorted(month for month in set(theirs) | set(ours) if theirs.get(month, 0) != ours.get(month, 0))
        self._recheck_months(differing, exact=False)
        return theirs

    def _reconcile(self, buckets: dict[str, int]) -> None:
        self._recheck_months(sorted(buckets), exact=True)
        # Months Immich no longer has at all.
        for month in set(store.bucket_counts(self.user_id)) - set(buckets):
            store.remove(self.user_id, store.bucket_entries(self.user_id, month))

    # ------------------------------------------------------------------ helpers

    def _identity(self, creds: settings.Credentials) -> str:
        """Whose library this key reads: Immich's user id, or (for a key that may not read
        it) a digest of the server and the key. Only a digest is stored."""
        try:
            who = "user:" + str(self.client.current_user().get("id"))
        except ImmichPermissionError:
            who = "key:" + creds.api_key
        return hashlib.sha256(f"{creds.server_url}\n{who}".encode()).hexdigest()

    def _commit_due(self) -> bool:
        """Whether to commit the pages written so far: once a second. A commit per page would
        write the index's pages that several pages' rows touch again and again (half of
        SQLite's time on a 100,000-photo sync)."""
        now = time.monotonic()
        if now - self._committed < COMMIT_SECONDS:
            return False
        self._committed = now
        return True

    def _commit(self, **state_values: Any) -> None:
        """Commit the rows written so far (and these state values), renewing the lease; if
        the lease is no longer ours (another process's, or gone with the settings), they are
        thrown away and the sync stops."""
        if not store.commit_rows(self.user_id, owner=self.owner, lease_seconds=self.settings.lease_seconds,
                                 **state_values):
            raise LeaseLost()
        self._renewed = time.monotonic()

    def _heartbeat(self) -> None:
        """Renew the lease when a quarter of it has passed without a commit."""
        if time.monotonic() - self._renewed > self.settings.lease_seconds / 4:
            self._commit()

    def _changed_pages(self, **query: Any) -> Iterator[SplitPage]:
        """(rows to upsert, ids to remove, newest updatedAt, assets seen) for each page."""
        yield from pages(lambda number: self._page(number, query), self.executor, window=self.settings.window,
                         max_pages=MAX_SYNC_PAGES)

    def _page(self, number: int, query: dict[str, Any]) -> tuple[SplitPage, int | None]:
        """One page, split, and its nextPage; asked again after a pause when Immich stumbles
        (an error answer, a dropped connection, a timeout, a garbled answer): one page in
        hundreds must not throw the sync away."""
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            try:
                return fetch_page(self.client, search_query(page=number, size=PAGE_SIZE, asset_type=None, **query),
                                  self._split)
            except ImmichAddressRefused:
                raise  # our own URL policy: asking again changes nothing
            except (ImmichUnavailable, ImmichTimeout):
                if attempt == PAGE_ATTEMPTS:
                    raise
                log.info("index sync: page %d failed, asking again (%d of %d)", number, attempt + 1, PAGE_ATTEMPTS)
                time.sleep(PAGE_RETRY_SECONDS * attempt)
        raise AssertionError("unreachable")

    def _split(self, answer: bytes) -> tuple[SplitPage, int | None]:
        """A page's answer as index rows, and its nextPage. Decoded straight into the fields the
        index keeps; an answer that does not decode so is decoded the general way, which says
        what is wrong with it (not JSON, another shape) as the live search would."""
        try:
            assets, next_page = decode_assets(answer)
        except NotAssets:
            page = self.client.search_page(answer)
            assets, next_page = assets_of(page.items), page.next_page
        return split_assets(assets), next_page

    def _recheck_months(self, months: list[str], *, exact: bool) -> None:
        """Compare each month's ids (and, when exact, times and coordinates) with Immich's,
        drop what Immich no longer has, and re-read what is missing or different."""
        def columns(month: str) -> tuple[str, dict[str, list[Any]]]:
            return month, self.client.time_bucket(month)

        futures = [self.executor.submit(columns, month) for month in months]
        for future in futures:
            month, bucket = future.result()
            theirs = _bucket_entries(bucket)
            ours = store.bucket_entries(self.user_id, month)
            store.remove(self.user_id, ours.keys() - theirs.keys())
            stale = {asset_id for asset_id, entry in theirs.items()
                     if asset_id not in ours or (exact and not _same(ours[asset_id], entry))}
            if stale:
                self._reread(month, stale)
            self._heartbeat()

    def _reread(self, month: str, wanted: set[str]) -> None:
        start = epoch_ms(f"{month}-01T00:00:00Z")
        year, number = int(month[:4]), int(month[5:7])
        following = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
        end = epoch_ms(f"{following}-01T00:00:00Z")
        assert start is not None and end is not None
        for rows, _gone, _high, _seen in self._changed_pages(taken_after=iso_ms(start - MONTH_MARGIN_MS),
                                                           taken_before=iso_ms(end + MONTH_MARGIN_MS)):
            store.write_page(self.user_id, [row for row in rows if row[ASSET_ID] in wanted])
            self._commit()


def _done_or_none(future: Future[int | None]) -> int | None:
    """A future's result if it has one by now (a failure counts as none: the pages that
    follow meet the same trouble and say so), else None."""
    if not future.done() or future.exception() is not None:
        return None
    return future.result()


def _bucket_entries(bucket: dict[str, list[Any]]) -> dict[str, tuple[int | None, float | None, float | None]]:
    ids = bucket["id"]
    count = len(ids)
    created = bucket.get("fileCreatedAt") or [None] * count
    latitudes = bucket.get("latitude") or [None] * count
    longitudes = bucket.get("longitude") or [None] * count
    trashed = bucket.get("isTrashed") or [False] * count
    entries = {}
    for i in range(count):
        if trashed[i]:
            continue
        latitude, longitude = latitudes[i], longitudes[i]
        if latitude is None or longitude is None:
            latitude = longitude = None  # as the index keeps a half position: none at all
        entries[ids[i]] = (epoch_ms(created[i]), latitude, longitude)
    return entries


def _same(ours: tuple[int | None, float | None, float | None],
          theirs: tuple[int | None, float | None, float | None]) -> bool:
    if ours[0] != theirs[0]:
        return False
    for mine, other in zip(ours[1:], theirs[1:], strict=True):
        if (mine is None) != (other is None):
            return False
        if mine is not None and other is not None and abs(mine - other) > 1e-9:
            return False
    return True
