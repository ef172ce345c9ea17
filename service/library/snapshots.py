"""The map's columns of a user's index, packed into one database value (LibrarySnapshot).

Reading 500,000 rows back into columns takes a process a second or more of SQLite's or
PostgreSQL's time; reading one packed value takes a few dozen milliseconds. The sync that
changed the rows packs them before it says the index is ready, so the first map after a
sync is as quick as the next; a process that finds no snapshot of the rows as they stand
reads the rows, and saves what it read for the others."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from service.library import store
from service.library.asset_rows import EPOCH
from service.photos.map_data import MapColumns

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3


def version_of(settings_version: str, owner_identity: str | None, indexed_count: int, high_water_ms: int | None,
               last_reconciled_at: datetime | None) -> str:
    """What names the index's rows as they stand: it moves whenever they change (a change
    moves the count or the newest updatedAt; a reconcile may change rows without either,
    so its time counts too), and not when a refresh found nothing new."""
    reconciled = None if last_reconciled_at is None else (store.as_utc(last_reconciled_at) - EPOCH).total_seconds()
    text = f"{settings_version}|{owner_identity}|{indexed_count}|{high_water_ms}|{reconciled}"
    return hashlib.sha256(text.encode()).hexdigest()


class RowsMoved(Exception):
    """The rows changed while they were read (a sync wrote some): read them again."""


def columns(user_id: uuid.UUID, version: str) -> MapColumns:
    """The columns of the rows named by `version`: from their snapshot, else from the rows
    (and then saved as the snapshot, for every other process)."""
    packed = store.snapshot(user_id, version)
    if packed is not None:
        return MapColumns.unpack(packed)
    for attempt in range(READ_ATTEMPTS):
        try:
            packed_now, read = from_rows(user_id)
        except RowsMoved:
            if attempt == READ_ATTEMPTS - 1:
                raise
            continue
        save(user_id, version, packed_now)
        return read
    raise AssertionError("unreachable")


def from_rows(user_id: uuid.UUID) -> tuple[bytearray, MapColumns]:
    """The rows read into columns and their packed value at once: batch by batch into one
    buffer of the size the rows take, so a whole library is never in memory twice."""
    count = store.image_count(user_id)
    packed, read = MapColumns.allocate(count)
    filled = 0
    with store.bulk_read():
        for batch in store.map_rows(user_id):
            end = filled + len(batch)
            if end > count:
                raise RowsMoved()
            ids, latitudes, longitudes, taken, created = zip(*batch, strict=True)
            read.ids[filled:end] = ids
            read.latitudes[filled:end] = latitudes  # numpy reads None as NaN: no position
            read.longitudes[filled:end] = longitudes
            read.taken_ms[filled:end] = taken
            read.created_ms[filled:end] = created
            filled = end
    if filled != count:
        raise RowsMoved()
    return packed, read


def save(user_id: uuid.UUID, version: str, packed: bytes | bytearray) -> None:
    """Kept when it can be: without it, processes read the rows, as before."""
    try:
        store.save_snapshot(user_id, version, packed)
    except SQLAlchemyError as exc:
        store.rollback()
        log.warning("index snapshot not saved: %s", type(exc).__name__)
