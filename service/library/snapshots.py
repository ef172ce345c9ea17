"""The map's columns of a user's index, packed into the database (LibrarySnapshot).

Reading 500,000 rows back into columns takes a process a second or more of SQLite's or
PostgreSQL's time; reading their packed parts takes a few dozen milliseconds. The sync that
changed the rows packs them in the transaction that says the index is ready, so the first
map after a sync is as quick as the next; a process that finds no snapshot of the rows as
they stand writes one from the rows, for itself and for the others."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from service.library import store
from service.library.asset_rows import EPOCH, ROW_COLUMNS, IndexRow
from service.photos.map_data import MapColumns

log = logging.getLogger(__name__)

PART_PHOTOS = 4096  # photos a part: about 280 KB packed, what a syncing worker holds at a time


def version_of(settings_version: str, owner_identity: str | None, indexed_count: int, high_water_ms: int | None,
               last_reconciled_at: datetime | None) -> str:
    """What names the index's rows as they stand: it moves whenever they change (a change
    moves the count or the newest updatedAt; a reconcile may change rows without either,
    so its time counts too), and not when a refresh found nothing new."""
    reconciled = None if last_reconciled_at is None else (store.as_utc(last_reconciled_at) - EPOCH).total_seconds()
    text = f"{settings_version}|{owner_identity}|{indexed_count}|{high_water_ms}|{reconciled}"
    return hashlib.sha256(text.encode()).hexdigest()


def columns(user_id: uuid.UUID, version: str) -> MapColumns:
    """The columns of the rows named by `version`: from their snapshot, else from the rows
    (the snapshot then written for every other process, and read back)."""
    found = read(user_id, version)
    if found is not None:
        return found
    try:
        write(user_id, version)
        store.commit()
    except SQLAlchemyError as exc:  # another process wrote it first, or the database is busy
        store.rollback()
        log.warning("index snapshot not written: %s", type(exc).__name__)
    found = read(user_id, version)
    if found is not None:
        return found
    parts = [MapColumns.unpack(packed) for _, packed in _packed_parts(user_id)]
    return _joined(parts, sum(len(part) for part in parts))


def read(user_id: uuid.UUID, version: str) -> MapColumns | None:
    """The snapshot of this version as one set of columns, or None when there is none (or it
    was replaced while it was read)."""
    parts, photos = store.snapshot_size(user_id, version)
    if parts == 0:
        return None
    try:
        return _joined((MapColumns.unpack(packed) for packed in store.snapshot_parts(user_id, version)), photos)
    except ValueError:
        return None


def _joined(parts: Iterable[MapColumns], photos: int) -> MapColumns:
    """Parts copied one after the other into columns of `photos` photos."""
    whole = MapColumns.allocate(photos)
    filled = 0
    for part in parts:
        filled = whole.fill(filled, part)
    if filled != photos:
        raise ValueError("the parts hold another number of photos")
    return whole


def write(user_id: uuid.UUID, version: str) -> None:
    """The user's snapshot made again from the rows, part by part (a whole library is never
    in memory at once), in the caller's transaction."""
    store.replace_snapshot(user_id, version, _packed_parts(user_id))


def _packed_parts(user_id: uuid.UUID) -> Iterator[tuple[int, bytes]]:
    with store.collector_paused():
        for batch in store.map_rows(user_id, batch=PART_PHOTOS):
            part = MapColumns.from_rows(batch)
            yield len(part), part.pack()


class Streamed:
    """A first full sync's snapshot, packed from its pages' rows as they are written, so that
    the sync need not read every row back at its end (a tenth of a 100,000-photo sync).

    Immich sends a full sync's pages by fileCreatedAt, which is the capture time the map
    sorts by for almost every photo; rows are kept back a part's worth, so that a few out of
    order still find their place. One that comes after its place was packed, or a row that
    replaced another, spoils it: the sync then packs the rows as usual. Parts are written in
    the sync's transactions under a version no reader asks for, until `name` gives them the
    index's."""

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id
        self.usable = True
        self._pending: list[tuple[Any, ...]] = []  # (id, latitude, longitude, taken_ms, created_ms), as map_rows
        self._last: tuple[int, str] | None = None  # the sort key of the last photo packed
        self._rows = self._parts = self._photos = 0
        store.replace_snapshot(user_id, STREAMING, ())  # no part of what the rows were is of use

    def add(self, rows: Sequence[IndexRow]) -> None:
        """A page's rows, as written (new ones, each written once)."""
        if not self.usable:
            return
        self._rows += len(rows)
        self._pending.extend((row[_ID], row[_LATITUDE], row[_LONGITUDE], row[_TAKEN], row[_CREATED])
                             for row in rows if row[_TYPE] == "IMAGE" and row[_CREATED] is not None)
        if len(self._pending) >= 2 * PART_PHOTOS:
            self._pack(keep=PART_PHOTOS)

    def spoil(self) -> None:
        self.usable = False
        self._pending = []

    def name(self, version: str, rows_indexed: int) -> bool:
        """Give the parts the index's version, if they are the index's rows: every row written
        once and none other (as many rows in the index as were written), all packed in order,
        and every part still there. Otherwise False, and nothing changed."""
        self._pack(keep=0)
        if not (self.usable and rows_indexed == self._rows
                and store.snapshot_size(self.user_id, STREAMING) == (self._parts, self._photos)):
            return False
        store.rename_snapshot(self.user_id, STREAMING, version)
        return True

    def _pack(self, keep: int) -> None:
        """Pack parts from the pending photos, in order, until `keep` (or fewer) are left."""
        if not self.usable:
            return
        self._pending.sort(key=_sort_key)
        packed = 0
        while len(self._pending) - packed > keep:
            batch = self._pending[packed:packed + PART_PHOTOS]
            if self._last is not None and _sort_key(batch[0]) <= self._last:
                self.spoil()  # a photo came after its place was packed
                return
            self._last = _sort_key(batch[-1])
            part = MapColumns.from_rows(batch)
            store.add_snapshot_part(self.user_id, STREAMING, self._parts, len(part), part.pack())
            self._parts += 1
            self._photos += len(part)
            packed += len(batch)
        del self._pending[:packed]


STREAMING = "streaming"  # the version of a Streamed snapshot's parts until they are named
_ID, _TYPE, _CREATED, _TAKEN, _LATITUDE, _LONGITUDE = (ROW_COLUMNS.index(name) for name in (
    "asset_id", "type", "file_created_ms", "taken_ms", "latitude", "longitude"))


def _sort_key(photo: tuple[Any, ...]) -> tuple[int, str]:
    return photo[3], photo[0]  # capture time, then id: as the rows are read for the map
