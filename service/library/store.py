"""The library index in the database: rows in bulk, counts per month, range queries, and the
state row whose lease lets one sync at a time run for a user across every process."""

from __future__ import annotations

import functools
import gc
import itertools
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from psycopg.errors import UniqueViolation
from sqlalchemy import Integer, Text, Uuid, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError

from service.extensions import db
from service.library.asset_rows import ROW_COLUMNS, IndexRow
from service.models import LibraryAsset, LibraryIndexState, LibrarySnapshot, utcnow
from service.photos.geo import Circle

BATCH = 1000  # rows (or ids) a statement: 16,000 parameters, inside SQLite's and PostgreSQL's limits
_TYPES = {column.name: column.type for column in LibraryAsset.__table__.columns}
# Rows an SQLite upsert binds at once: its limit is 32,766 parameters since 3.32, 999 before.
SQLITE_ROWS = BATCH if sqlite3.sqlite_version_info >= (3, 32) else 999 // (len(ROW_COLUMNS) + 1)
SYNC_CACHE_KIB = 8192  # SQLite's page cache for a sync's connection (the ids' index of 100,000 rows)
PHOTO_COLUMNS = (LibraryAsset.asset_id, LibraryAsset.original_file_name, LibraryAsset.taken_ms,
                 LibraryAsset.latitude, LibraryAsset.longitude, LibraryAsset.city, LibraryAsset.country,
                 LibraryAsset.thumbhash)


def _insert() -> Any:
    return postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


# ---------------------------------------------------------------- state and lease


def state(user_id: uuid.UUID) -> LibraryIndexState | None:
    return db.session.get(LibraryIndexState, user_id)


def ensure_state(user_id: uuid.UUID) -> None:
    statement = _insert()(LibraryIndexState).values(user_id=user_id, ready=False, indexed_count=0, failures=0)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=[LibraryIndexState.user_id]))
    db.session.commit()


def take_lease(user_id: uuid.UUID, *, owner: str, seconds: float) -> bool:
    """One atomic statement: the lease is ours if nobody holds it or theirs has expired."""
    now = utcnow()
    result = db.session.execute(
        update(LibraryIndexState)
        .where(LibraryIndexState.user_id == user_id)
        .where(or_(LibraryIndexState.lease_owner.is_(None), LibraryIndexState.lease_expires_at < now))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
    )
    db.session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_lease(user_id: uuid.UUID, *, owner: str) -> None:
    db.session.execute(
        update(LibraryIndexState)
        .where(LibraryIndexState.user_id == user_id, LibraryIndexState.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )
    db.session.commit()


def lease_held(found: LibraryIndexState, now: datetime | None = None) -> bool:
    expires = found.lease_expires_at
    if found.lease_owner is None or expires is None:
        return False
    return as_utc(expires) > (now or utcnow())


def as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def set_state(user_id: uuid.UUID, **values: Any) -> None:
    _update_state(user_id, values)
    db.session.commit()


def _update_state(user_id: uuid.UUID, values: dict[str, Any]) -> None:
    db.session.execute(update(LibraryIndexState).where(LibraryIndexState.user_id == user_id).values(**values))


# ---------------------------------------------------------------- rows


def write_page(user_id: uuid.UUID, rows: Sequence[IndexRow], gone: Iterable[str] = ()) -> None:
    """One page of a sync: its rows inserted or replaced, and the assets it found in the trash
    removed. Not committed: commit_rows does that."""
    if rows:
        _upsert(user_id, rows)
    _delete(user_id, gone)


def commit_rows(user_id: uuid.UUID, *, owner: str, lease_seconds: float, **state_values: Any) -> bool:
    """Commit a sync's rows written so far, with these state values and its lease renewed,
    if the sync still holds the lease; else roll them back and say False.

    The rows have no foreign key (see LibraryAsset); the state row, which goes with the
    settings, stands for it. It is updated last: settings deleted before this are seen here,
    and deleted after it, their deletion waits for this commit (PostgreSQL's row lock,
    SQLite's one writer) and then deletes these rows too."""
    result = db.session.execute(
        update(LibraryIndexState)
        .where(LibraryIndexState.user_id == user_id, LibraryIndexState.lease_owner == owner)
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds), **state_values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return False
    db.session.commit()
    return True


def insert_new(user_id: uuid.UUID, rows: Sequence[IndexRow]) -> bool:
    """A page of rows taken to be new to the index (a first full sync's). On PostgreSQL they
    are copied in (COPY) without looking for rows to replace, half the server's work of an
    upsert; if one was there after all (Immich's pages moved while they were read), the page
    is upserted instead and False says so. SQLite upserts: an insert would save it little.
    Not committed."""
    if db.session.connection().dialect.name != "postgresql":
        _upsert(user_id, rows)
        return True
    try:
        with db.session.begin_nested():
            raw = db.session.connection().connection.dbapi_connection
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                types = _copy_types(cursor)
                with cursor.copy(_POSTGRESQL_COPY) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row((user_id, *row))
        return True
    except UniqueViolation:
        _upsert(user_id, rows)
        return False


def _upsert(user_id: uuid.UUID, rows: Sequence[IndexRow]) -> None:
    """All of a page's rows in one statement. Sent row by row, as executemany does, SQLite
    takes and gives back Python's lock at every row while the page threads want it."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_postgresql_upsert(user_id, rows))
        return
    # SQLite: the rows' values as they are, after the owner's, bound once as ?1 for every row.
    processor = _TYPES["user_id"].bind_processor(connection.dialect)
    owner = processor(user_id) if processor else user_id
    for start in range(0, len(rows), SQLITE_ROWS):
        chunk = rows[start:start + SQLITE_ROWS]
        connection.exec_driver_sql(_sqlite_upsert(len(chunk)), (owner, *itertools.chain.from_iterable(chunk)))


def _postgresql_upsert(user_id: uuid.UUID, rows: Sequence[IndexRow]) -> Any:
    """One JSON parameter (an array of arrays, in ROW_COLUMNS order) that PostgreSQL unpacks."""
    payload = orjson.dumps(rows if isinstance(rows, list) else list(rows)).decode()
    source = func.jsonb_array_elements(cast(literal(payload, Text), JSONB)).table_valued("value")
    fields = [cast(source.c.value.op("->>")(literal(i, Integer)), _TYPES[name]) for i, name in enumerate(ROW_COLUMNS)]
    statement = postgresql_insert(LibraryAsset).from_select(
        ["user_id", *ROW_COLUMNS], select(literal(user_id, Uuid), *fields).select_from(source))
    return statement.on_conflict_do_update(
        index_elements=[LibraryAsset.user_id, LibraryAsset.asset_id],
        set_={name: statement.excluded[name] for name in ROW_COLUMNS if name != "asset_id"})


@functools.lru_cache(maxsize=16)
def _sqlite_upsert(count: int) -> str:
    """INSERT … ON CONFLICT DO UPDATE of `count` rows: the owner is ?1, each row's own values
    follow in order (SQLite numbers a bare ? one past the highest so far). The text holds
    only the table's own column names and placeholders; every value is bound."""
    row = "(?1, " + ", ".join("?" * len(ROW_COLUMNS)) + ")"
    updates = ", ".join(f"{name} = excluded.{name}" for name in ROW_COLUMNS if name != "asset_id")
    return (f"INSERT INTO {LibraryAsset.__tablename__} (user_id, {', '.join(ROW_COLUMNS)}) "  # noqa: S608
            f"VALUES {', '.join([row] * count)} ON CONFLICT (user_id, asset_id) DO UPDATE SET {updates}")


# Binary: PostgreSQL reads each value as it is stored, and the client sends half the CPU's worth.
_POSTGRESQL_COPY = f"COPY {LibraryAsset.__tablename__} (user_id, {', '.join(ROW_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES: list[int] = []  # the copied columns' types, as the server named them when first asked


def _copy_types(cursor: Any) -> list[int]:
    """The types (oids) of the columns a binary COPY sends, as the server describes them."""
    if not _COPY_TYPES:
        cursor.execute(f"SELECT user_id, {', '.join(ROW_COLUMNS)} FROM {LibraryAsset.__tablename__} LIMIT 0")  # noqa: S608
        _COPY_TYPES[:] = [column.type_code for column in cursor.description]
    return _COPY_TYPES


def remove(user_id: uuid.UUID, asset_ids: Iterable[str]) -> None:
    _delete(user_id, asset_ids)
    db.session.commit()


def _delete(user_id: uuid.UUID, asset_ids: Iterable[str]) -> None:
    ids = list(asset_ids)
    for start in range(0, len(ids), BATCH):
        db.session.execute(delete(LibraryAsset).where(
            LibraryAsset.user_id == user_id, LibraryAsset.asset_id.in_(ids[start:start + BATCH])))


def wipe(user_id: uuid.UUID) -> None:
    db.session.execute(delete(LibraryAsset).where(LibraryAsset.user_id == user_id))
    db.session.execute(delete(LibrarySnapshot).where(LibrarySnapshot.user_id == user_id))
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


def count(user_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(LibraryAsset).where(LibraryAsset.user_id == user_id)) or 0


def bucket_counts(user_id: uuid.UUID) -> dict[str, int]:
    rows = db.session.execute(
        select(LibraryAsset.bucket, func.count()).where(LibraryAsset.user_id == user_id)
        .group_by(LibraryAsset.bucket)
    )
    return {bucket: n for bucket, n in rows if bucket is not None}


def bucket_entries(user_id: uuid.UUID, bucket: str) -> dict[str, tuple[int | None, float | None, float | None]]:
    """Each asset of one month: its fileCreatedAt and coordinates, by id."""
    rows = db.session.execute(
        select(LibraryAsset.asset_id, LibraryAsset.file_created_ms, LibraryAsset.latitude, LibraryAsset.longitude)
        .where(LibraryAsset.user_id == user_id, LibraryAsset.bucket == bucket)
    )
    return {asset_id: (created, lat, lon) for asset_id, created, lat, lon in rows}


def photos_in_range(user_id: uuid.UUID, *, start_ms: int, end_ms: int, circle: Circle | None) -> list[Row[Any]]:
    """Images whose fileCreatedAt is in [start, end] (as Immich's takenAfter/takenBefore),
    inside the circle's bounding box when there is one, sorted by capture time, then id."""
    query = select(*PHOTO_COLUMNS).where(
        LibraryAsset.user_id == user_id,
        LibraryAsset.type == "IMAGE",
        LibraryAsset.file_created_ms >= start_ms,
        LibraryAsset.file_created_ms <= end_ms,
    )
    if circle is not None:
        min_lat, max_lat, spans = circle.bounding_box()
        margin = 1e-9  # as the exact filter's: float rounding must not drop an edge point
        query = query.where(
            LibraryAsset.latitude >= min_lat - margin,
            LibraryAsset.latitude <= max_lat + margin,
            or_(*(and_(LibraryAsset.longitude >= lo - margin, LibraryAsset.longitude <= hi + margin)
                  for lo, hi in spans)),
        )
    # Core rows, not ORM ones: 100,000 of them come back in a fraction of the time.
    return list(db.session.connection().execute(query.order_by(LibraryAsset.taken_ms, LibraryAsset.asset_id)))


@contextmanager
def bulk_writes() -> Iterator[None]:
    """Around a sync: its transactions on one connection, set up for it while it lasts.
    SQLite keeps a larger page cache: the index's keys are random asset ids, and with its
    default (2 MB) most inserts of a full sync read their key's page back from the file.
    PostgreSQL's commits do not wait for the disk: a crash may lose the last moments of a
    sync, which its next run writes again."""
    with db.one_connection() as connection:
        if connection.dialect.name == "sqlite":
            before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
            setup, undo = f"PRAGMA cache_size = -{SYNC_CACHE_KIB}", f"PRAGMA cache_size = {before}"
        else:
            setup, undo = "SET synchronous_commit = off", "RESET synchronous_commit"
        connection.exec_driver_sql(setup)
        connection.commit()
        try:
            yield
        finally:
            try:
                db.session.rollback()
                connection.exec_driver_sql(undo)  # SQLite gives the cache's pages back
                connection.commit()
            except SQLAlchemyError:
                connection.invalidate()  # never back to the pool set up for a sync


@contextmanager
def collector_paused() -> Iterator[None]:
    """Around reading a whole library and building from it, or writing one (a sync): its
    hundreds of thousands of rows pass through young objects, and Python's cycle collector
    would walk the growing heap again and again (two thirds of the time of reading 500,000
    rows, a sixth of a full sync's CPU), so it waits until the work is done. The collector
    is the process's: it runs again when the last of the threads in here leaves (if it was
    running when the first came in)."""
    global _pausing, _collecting
    with _collector:
        if _pausing == 0:
            _collecting = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _collector:
            _pausing -= 1
            if _pausing == 0 and _collecting:
                gc.enable()


_collector = threading.Lock()
_pausing = 0  # threads inside collector_paused
_collecting = False  # whether the collector ran before the first of them came in


def _every_image(*columns: Any) -> Any:
    """A query of these columns of every image with a fileCreatedAt, sorted by capture
    time, then id; the caller adds which user's."""
    return select(*columns).where(*_IMAGES).order_by(LibraryAsset.taken_ms, LibraryAsset.asset_id)


_IMAGES = (LibraryAsset.type == "IMAGE", LibraryAsset.file_created_ms.is_not(None))


def photo_rows(user_id: uuid.UUID, batch: int = 10_000) -> Iterator[Sequence[Row[Any]]]:
    """Every image's photo columns, then its fileCreatedAt, as a search sorts them."""
    return _every_image_in_batches(user_id, (*PHOTO_COLUMNS, LibraryAsset.file_created_ms), batch)


def map_rows(user_id: uuid.UUID, batch: int = 10_000) -> Iterator[Sequence[Row[Any]]]:
    """Every image's id, position and times, sorted by capture time, then id."""
    columns = (LibraryAsset.asset_id, LibraryAsset.latitude, LibraryAsset.longitude, LibraryAsset.taken_ms,
               LibraryAsset.file_created_ms)
    return _every_image_in_batches(user_id, columns, batch)


def _every_image_in_batches(user_id: uuid.UUID, columns: Sequence[Any], batch: int) -> Iterator[Sequence[Row[Any]]]:
    """The user's images' columns in batches, so that a whole library's rows are never in
    memory at once."""
    query = _every_image(*columns).where(LibraryAsset.user_id == user_id)
    streamed = {"stream_results": True, "max_row_buffer": batch}
    yield from db.session.connection().execute(query, execution_options=streamed).partitions(batch)


def photos_by_ids(user_id: uuid.UUID, asset_ids: Sequence[str]) -> list[Row[Any]]:
    """These images' photo columns, in the order of `asset_ids`."""
    rows = db.session.connection().execute(select(*PHOTO_COLUMNS).where(
        LibraryAsset.user_id == user_id, LibraryAsset.asset_id.in_(list(asset_ids))))
    by_id: dict[str, Any] = {row.asset_id: row for row in rows}
    return [by_id[asset_id] for asset_id in asset_ids if asset_id in by_id]


# ---------------------------------------------------------------- the packed map columns


def snapshot_size(user_id: uuid.UUID, version: str) -> tuple[int, int]:
    """(parts, photos) of the user's snapshot of this version; (0, 0) when there is none."""
    row = db.session.execute(select(func.count(), func.coalesce(func.sum(LibrarySnapshot.photos), 0)).where(
        LibrarySnapshot.user_id == user_id, LibrarySnapshot.version == version)).one()
    return int(row[0]), int(row[1])


def snapshot_parts(user_id: uuid.UUID, version: str) -> Iterator[bytes]:
    """The snapshot's packed parts in order, one at a time."""
    query = (select(LibrarySnapshot.packed)
             .where(LibrarySnapshot.user_id == user_id, LibrarySnapshot.version == version)
             .order_by(LibrarySnapshot.part))
    for (packed,) in db.session.connection().execute(query, execution_options={"stream_results": True,
                                                                               "max_row_buffer": 1}):
        yield packed


def snapshot_version(user_id: uuid.UUID) -> str | None:
    return db.session.scalar(select(LibrarySnapshot.version).where(LibrarySnapshot.user_id == user_id).limit(1))


def replace_snapshot(user_id: uuid.UUID, version: str, parts: Iterable[tuple[int, bytes]]) -> None:
    """The user's snapshot replaced by these (photos, packed) parts, in the caller's
    transaction: whoever commits it makes the new snapshot visible at once, never half."""
    db.session.execute(delete(LibrarySnapshot).where(LibrarySnapshot.user_id == user_id))
    for number, (photos, packed) in enumerate(parts):
        add_snapshot_part(user_id, version, number, photos, packed)


def add_snapshot_part(user_id: uuid.UUID, version: str, number: int, photos: int, packed: bytes) -> None:
    """One part of the user's snapshot, written over the part of that number, if any."""
    statement = _insert()(LibrarySnapshot).values(user_id=user_id, part=number, version=version, photos=photos,
                                                  packed=packed)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[LibrarySnapshot.user_id, LibrarySnapshot.part],
        set_={name: statement.excluded[name] for name in ("version", "photos", "packed")}))


def rename_snapshot(user_id: uuid.UUID, old: str, new: str) -> None:
    """The user's snapshot parts of version `old` given version `new`, in the caller's transaction."""
    db.session.execute(update(LibrarySnapshot).where(LibrarySnapshot.user_id == user_id,
                                                     LibrarySnapshot.version == old).values(version=new))


def commit() -> None:
    db.session.commit()
