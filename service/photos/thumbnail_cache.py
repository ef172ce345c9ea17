"""Thumbnails and previews kept on disk, so a map full of them does not ask Immich again.

An entry is one file holding exactly the bytes Immich sent, at
`<folder>/<user id>/<settings version>/<asset id>.<size>.<token>` (a new token on every
write). The user and the settings version are part of every key, so one user's entry never
answers another's request, and saved settings start from an empty shelf. An SQLite index in
the folder (`index.sqlite3`) holds each entry's type, ETag, when Immich last confirmed it and
when it was last used, and the running total; every write is one SQLite transaction that
also evicts the least recently used entries past the size bound, so the bound holds with
any number of processes sharing the folder. Files are written under a temporary name and
moved into place with os.replace, and an entry is served only when its file has the length
the index recorded: a crash never serves a torn file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.immich.client import ImmichAuthError, ImmichError, ImmichNotFound, ImmichUnavailable, UpstreamMedia

log = logging.getLogger(__name__)

REVALIDATE_AFTER = 3600.0  # seconds before Immich is asked, with the ETag, whether an entry still holds
TOUCH_AFTER = 60.0  # an entry's last use is written at most once a minute: a hit rarely writes
MAX_ENTRY_BYTES = 8 << 20  # a larger body is passed through, not kept
BLOCK = 4096  # a file takes whole blocks on disk
ENTRY_OVERHEAD = 512  # its index row and directory entry
WAL_LIMIT = 256 << 10  # the index's write-ahead log is folded back into it past this size
RESERVED = 96 << 10  # the index's shared memory (32 KiB), and files being written or removed
BUSY_WAIT_MS = 2000  # how long a write waits for another to finish before giving up
CHECKPOINT_WAIT_MS = 50
EVICT_TO = 0.98  # an eviction frees a little more than needed, so the next write need not evict
FLIGHT_WAIT = 30.0  # seconds a request waits for another fetching the same entry
SWEEP_EVERY = 3600.0
FIRST_SWEEP_AFTER = 60.0  # after start: what a crash left is swept soon, unless another process just did
LEFTOVER_AGE = 3600.0  # an unindexed or temporary file this old is a crash's leftover
RETIRED_KEPT = 86400.0
INDEX = "index.sqlite3"
TEMP_PREFIX = ".tmp-"
_SAFE_PART = re.compile(r"[0-9A-Za-z-]{1,64}")

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,          -- user/version/asset.size
    token TEXT NOT NULL,           -- names the file that holds it
    length INTEGER NOT NULL,
    bytes INTEGER NOT NULL,        -- what it takes on disk, index row included
    content_type TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    checked_at REAL NOT NULL,      -- when Immich last confirmed it
    used_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used_at);
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    bytes INTEGER NOT NULL,
    swept_at REAL NOT NULL
);
INSERT OR IGNORE INTO state VALUES (0, 0, 0);
-- Settings versions whose entries were dropped: a fetch that began before the drop must
-- not put one back.
CREATE TABLE IF NOT EXISTS retired (
    user_id TEXT NOT NULL,
    version TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (user_id, version)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries
    BEGIN UPDATE state SET bytes = bytes + NEW.bytes; END;
CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries
    BEGIN UPDATE state SET bytes = bytes - OLD.bytes; END;
CREATE TRIGGER IF NOT EXISTS entries_resized AFTER UPDATE OF bytes ON entries
    BEGIN UPDATE state SET bytes = bytes - OLD.bytes + NEW.bytes; END;
COMMIT;
"""


@dataclass(frozen=True)
class ThumbnailKey:
    """One user, one settings version, one asset, one size."""

    user_id: str
    version: str
    asset_id: str
    size: str

    @property
    def name(self) -> str:
        return f"{self.user_id}/{self.version}/{self.asset_id}.{self.size}"

    def file(self, token: str) -> str:
        return f"{self.name}.{token}"

    def is_safe(self) -> bool:
        """Every part is a plain name: the key can only ever name a file inside the folder."""
        return all(_SAFE_PART.fullmatch(part) for part in (self.user_id, self.version, self.asset_id, self.size))


@dataclass
class CachedThumbnail:
    """An entry opened for serving; the open file stays readable if the entry is evicted meanwhile."""

    file: BinaryIO
    path: str  # relative to the cache folder
    length: int
    content_type: str
    etag: str | None
    last_modified: str | None
    checked_at: float

    def is_fresh(self) -> bool:
        return time.time() - self.checked_at < REVALIDATE_AFTER

    def close(self) -> None:
        self.file.close()


class _Buffered(UpstreamMedia):
    """An upstream answer read whole while trying to keep it: served from those bytes, then
    whatever the upstream still has to send."""

    def __init__(self, media: UpstreamMedia, read: list[bytes], rest: Iterator[bytes]) -> None:
        self._media = media
        self._read = read
        self._rest = rest
        self.status = media.status
        self.headers = media.headers

    def chunks(self) -> Iterator[bytes]:
        yield from self._read
        yield from self._rest

    def close(self) -> None:
        self._media.close()


class SingleFlight:
    """At most one fetch per key in this process; the others wait for it and read its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}

    @contextlib.contextmanager
    def join(self, name: str) -> Iterator[bool]:
        """Yields True to the one that should fetch, False to the others once it is done."""
        with self._lock:
            running = self._running.get(name)
            if running is None:
                mine = self._running[name] = threading.Event()
        if running is not None:
            running.wait(FLIGHT_WAIT)
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                del self._running[name]
            mine.set()


Fetch = Callable[[str | None], UpstreamMedia]  # called with the ETag to revalidate, or None
LiveVersions = Callable[[], set[tuple[str, str]] | None]  # (user id, settings version) of every saved setting


class ThumbnailCache:
    """The folder, its index and the size bound. Any failure to read or write it makes that
    request go to Immich as it would without a cache, with one log line per kind of failure."""

    def __init__(self, root: Path, max_bytes: int, *, touch_after: float = TOUCH_AFTER,
                 live_versions: LiveVersions | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._live_versions = live_versions
        # What the entries themselves may take: the rest is the index's log (its size at the
        # time, subtracted on every write) and what is being written or removed at the moment.
        self._budget = max(max_bytes // 2, max_bytes - RESERVED - max_bytes // 100)
        self._touch_after = touch_after
        self.flights = SingleFlight()
        self._local = threading.local()
        self._log = root / f"{INDEX}-wal"
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._reported: set[tuple[str, str]] = set()
        self._next_sweep = time.time() + FIRST_SWEEP_AFTER
        self.usable = self._create()

    # ------------------------------------------------------------------ reading

    def get_or_fetch(self, key: ThumbnailKey, fetch: Fetch) -> CachedThumbnail | UpstreamMedia:
        """The entry, from disk while Immich confirmed it within the hour; else fetched (or
        revalidated) once, however many requests ask for it at the same time."""
        entry = self.lookup(key)
        if entry is not None and entry.is_fresh():
            return entry
        with self.flights.join(key.name) as leading:
            if not leading:
                if entry is not None:
                    entry.close()
                entry = self.lookup(key)
                if entry is not None and entry.is_fresh():
                    return entry
            return self._fetch(key, entry, fetch)

    def lookup(self, key: ThumbnailKey) -> CachedThumbnail | None:
        try:
            row = self._db().execute(
                "SELECT token, length, content_type, etag, last_modified, checked_at, used_at"
                " FROM entries WHERE key = ?", (key.name,)).fetchone()
        except sqlite3.Error as exc:
            self._report("read", exc)
            return None
        if row is None:
            return None
        token, length, content_type, etag, last_modified, checked_at, used_at = row
        path = key.file(token)
        try:
            handle = open(self.root / path, "rb")  # noqa: SIM115 - closed with the response
        except OSError:
            return None  # evicted or dropped since the index was read
        if os.fstat(handle.fileno()).st_size != length:
            handle.close()  # not the file the index describes: never served
            return None
        now = time.time()
        if now - used_at >= self._touch_after:
            self._touch(key, now)
        return CachedThumbnail(handle, path, length, content_type, etag, last_modified, checked_at)

    def usage(self) -> tuple[int, int]:
        """Bytes the entries take on disk, and how many there are."""
        db = self._db()
        total = db.execute("SELECT bytes FROM state").fetchone()[0]
        count = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        return int(total), int(count)

    # ------------------------------------------------------------------ fetching

    def _fetch(self, key: ThumbnailKey, stale: CachedThumbnail | None, fetch: Fetch) -> CachedThumbnail | UpstreamMedia:
        try:
            media = fetch(stale.etag if stale else None)
        except (ImmichNotFound, ImmichAuthError):
            if stale is not None:
                # Gone, or no longer visible to this key: the copy must never be served again.
                stale.close()
                self.drop(key)
            raise
        except ImmichError:
            if stale is None:
                raise
            return stale  # Immich cannot be reached: the copy it confirmed last still serves
        if stale is not None:
            if media.status == 304:
                media.close()
                self._confirmed(key)
                return stale
            stale.close()
        if media.status != 200:
            return media
        return self._store(key, media)

    def _store(self, key: ThumbnailKey, media: UpstreamMedia) -> UpstreamMedia:
        """Reads the answer whole, keeps it, and serves it from memory: a failure to keep it
        only means it is not kept."""
        chunks = media.chunks()
        read: list[bytes] = []
        length = 0
        try:
            for chunk in chunks:
                read.append(chunk)
                length += len(chunk)
                if length > min(MAX_ENTRY_BYTES, self._budget // 4):
                    return _Buffered(media, read, chunks)
        except ConnectionResetError:
            raise ImmichUnavailable("Immich stopped sending the thumbnail") from None
        served = _Buffered(media, read, iter(()))
        token = secrets.token_hex(4)
        path = key.file(token)
        try:
            self._write(path, read)
        except OSError as exc:
            self._report("write", exc)
            return served
        try:
            evicted = self._index(key, token, length, media)
        except sqlite3.Error as exc:
            self._report("write", exc)
            evicted = None
        self._remove(evicted if evicted is not None else [path])
        self._maybe_sweep()
        return served

    def _write(self, path: str, chunks: list[bytes]) -> None:
        """The whole file under a temporary name, then moved into place in one step."""
        target = self.root / path
        temp = target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}")
        try:
            try:
                handle = open(temp, "xb")  # noqa: SIM115 - closed below
            except FileNotFoundError:  # the user's first entry under these settings
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = open(temp, "xb")  # noqa: SIM115 - closed below
            with handle:
                handle.writelines(chunks)
            os.replace(temp, target)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    # ------------------------------------------------------------------ the index

    def _index(self, key: ThumbnailKey, token: str, length: int, media: UpstreamMedia) -> list[str] | None:
        """Records the entry and evicts past the bound, in one transaction; returns the files
        no entry names any more, or None when the user's settings were dropped meanwhile."""
        now = time.time()
        on_disk = -(-length // BLOCK) * BLOCK + ENTRY_OVERHEAD
        headers = media.headers
        with self._writing() as db:
            if db.execute("SELECT 1 FROM retired WHERE user_id = ? AND version = ?",
                          (key.user_id, key.version)).fetchone():
                return None
            old = db.execute("SELECT token FROM entries WHERE key = ?", (key.name,)).fetchone()
            db.execute(
                "INSERT INTO entries (key, token, length, bytes, content_type, etag, last_modified, checked_at,"
                " used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " token = excluded.token, length = excluded.length, bytes = excluded.bytes,"
                " content_type = excluded.content_type, etag = excluded.etag,"
                " last_modified = excluded.last_modified, checked_at = excluded.checked_at,"
                " used_at = excluded.used_at",
                (key.name, token, length, on_disk, headers.get("Content-Type") or "application/octet-stream",
                 headers.get("ETag"), headers.get("Last-Modified"), now, now),
            )
            evicted = [key.file(old[0])] if old else []
            total = db.execute("SELECT bytes FROM state").fetchone()[0]
            budget = max(self._budget // 4, self._budget - self._log_size())
            if total > budget:
                evicted += self._evict(db, total - int(budget * EVICT_TO), keep=key.name)
        return evicted

    @staticmethod
    def _evict(db: sqlite3.Connection, wanted: int, keep: str) -> list[str]:
        """Deletes the least recently used entries until `wanted` bytes are freed."""
        freed = 0
        files: list[str] = []
        while freed < wanted:
            rows = db.execute("SELECT key, token, bytes FROM entries WHERE key != ? ORDER BY used_at LIMIT 256",
                              (keep,)).fetchall()
            if not rows:
                break
            chosen = []
            for name, token, size in rows:
                chosen.append((name,))
                files.append(f"{name}.{token}")
                freed += size
                if freed >= wanted:
                    break
            db.executemany("DELETE FROM entries WHERE key = ?", chosen)
        return files

    def _log_size(self) -> int:
        try:
            return os.stat(self._log).st_size
        except OSError:
            return 0

    def _trim_log(self) -> None:
        """Folds the write-ahead log back into the index, and empties it, once it passes
        WAL_LIMIT. Left to itself, SQLite restarts the log only at a moment no reader holds
        it, which a busy server may never give: the log would grow without bound."""
        if self._log_size() > WAL_LIMIT:
            db = self._db()
            try:
                # It holds the writers back while it waits for readers: never for long.
                db.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error:
                pass  # busy: the next write tries again
            finally:
                db.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")

    def _touch(self, key: ThumbnailKey, now: float) -> None:
        try:
            with self._writing() as db:
                db.execute("UPDATE entries SET used_at = ? WHERE key = ?", (now, key.name))
        except sqlite3.Error:
            pass  # busy: a later hit records the use

    def _confirmed(self, key: ThumbnailKey) -> None:
        now = time.time()
        try:
            with self._writing() as db:
                db.execute("UPDATE entries SET checked_at = ?, used_at = ? WHERE key = ?", (now, now, key.name))
        except sqlite3.Error as exc:
            self._report("write", exc)

    def drop(self, key: ThumbnailKey) -> None:
        try:
            with self._writing() as db:
                row = db.execute("SELECT token FROM entries WHERE key = ?", (key.name,)).fetchone()
                db.execute("DELETE FROM entries WHERE key = ?", (key.name,))
        except sqlite3.Error as exc:
            self._report("write", exc)
            return
        if row:
            self._remove([key.file(row[0])])

    def drop_user(self, user_id: str, retired_version: str | None) -> None:
        """Every entry of the user, under any settings version; a fetch still running under
        the retired version cannot put one back."""
        if not self.usable or not _SAFE_PART.fullmatch(user_id):
            return
        try:
            with self._writing() as db:
                if retired_version:
                    db.execute("INSERT OR REPLACE INTO retired VALUES (?, ?, ?)",
                               (user_id, retired_version, time.time()))
                # Keys start with "<user id>/", and "0" sorts just after "/".
                db.execute("DELETE FROM entries WHERE key >= ? AND key < ?", (user_id + "/", user_id + "0"))
        except sqlite3.Error as exc:
            self._report("write", exc)
        shutil.rmtree(self.root / user_id, ignore_errors=True)

    # ------------------------------------------------------------------ upkeep

    def sweep(self, live: set[tuple[str, str]] | None = None) -> None:
        """Removes what a crash can leave behind: temporary files, files no entry names, and
        entries whose file is gone; and, given the settings that are `live`, every entry made
        under settings saved over or deleted since (on another host, say)."""
        cutoff = time.time() - LEFTOVER_AGE
        db = self._db()
        for version_dir in self.root.glob("*/*"):
            if live is not None and (version_dir.parent.name, version_dir.name) not in live:
                prefix = f"{version_dir.parent.name}/{version_dir.name}/"
                with self._writing() as writer:
                    writer.execute("DELETE FROM entries WHERE key >= ? AND key < ?", (prefix, prefix[:-1] + "0"))
                shutil.rmtree(version_dir, ignore_errors=True)
                continue
            for path in version_dir.iterdir():
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime > cutoff:
                        continue
                    name, _, token = f"{version_dir.parent.name}/{version_dir.name}/{path.name}".rpartition(".")
                    row = None
                    if not path.name.startswith(TEMP_PREFIX):
                        row = db.execute("SELECT 1 FROM entries WHERE key = ? AND token = ?", (name, token)).fetchone()
                    if row is None:
                        path.unlink()
            with contextlib.suppress(OSError):
                version_dir.rmdir()  # only when empty
        gone = [(name,) for name, token in db.execute("SELECT key, token FROM entries WHERE used_at < ?", (cutoff,))
                if not (self.root / f"{name}.{token}").exists()]
        with self._writing() as writer:
            writer.executemany("DELETE FROM entries WHERE key = ?", gone)
            writer.execute("DELETE FROM retired WHERE at < ?", (time.time() - RETIRED_KEPT,))
        for user_dir in self.root.iterdir():
            with contextlib.suppress(OSError):
                if user_dir.is_dir():
                    user_dir.rmdir()

    def _maybe_sweep(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        try:
            # One process sweeps an hour, whichever writes first.
            claimed = self._db().execute("UPDATE state SET swept_at = ? WHERE swept_at < ?",
                                         (now, now - SWEEP_EVERY)).rowcount
        except sqlite3.Error:
            return
        if claimed:
            live = self._live_versions() if self._live_versions else None
            threading.Thread(target=self._sweep_quietly, args=(live,), name="thumbnail-sweep", daemon=True).start()

    def _sweep_quietly(self, live: set[tuple[str, str]] | None) -> None:
        try:
            self.sweep(live)
        except (OSError, sqlite3.Error) as exc:
            self._report("sweep", exc)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()

    # ------------------------------------------------------------------ plumbing

    def _create(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(self._connect()) as db:
                db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            self._report("open", exc)
            return False
        return True

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.root / INDEX, timeout=BUSY_WAIT_MS / 1000, isolation_level=None,
                             check_same_thread=False)
        # Small pages (taken when the index is created): each write logs a few KiB, not tens.
        db.execute("PRAGMA page_size = 1024")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        # A small write-ahead log: it counts against the folder's size too (see _log_size).
        # _trim_log checkpoints it; SQLite's own checkpoints after each commit would hold the
        # checkpoint lock so often that those could hardly ever run.
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
        return db

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._lock:
                self._connections.append(db)
        return db

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._trim_log()

    def _remove(self, paths: list[str]) -> None:
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(self.root / path)

    def _report(self, doing: str, exc: BaseException) -> None:
        """One log line per kind of failure and process: the cache is then bypassed, not fatal."""
        if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return  # other writers were busy: only this one entry is not kept
        code = getattr(exc, "errno", None)
        reason = errno.errorcode.get(code, type(exc).__name__) if isinstance(code, int) else type(exc).__name__
        with self._lock:
            if (doing, reason) in self._reported:
                return
            self._reported.add((doing, reason))
        log.warning("thumbnail cache bypassed: thumbnails are proxied from Immich without it",
                    extra={"outcome": f"{doing} failed: {reason}"})
