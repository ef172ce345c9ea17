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
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from service.library import store
from service.library.asset_rows import EPOCH
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
    with store.bulk_read():
        for batch in store.map_rows(user_id, batch=PART_PHOTOS):
            part = MapColumns.from_rows(batch)
            yield len(part), part.pack()
