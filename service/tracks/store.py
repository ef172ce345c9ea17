"""Tracks in the database: each track's points packed into chunks of consecutive points,
read back by time; the user's clock setting and fit; and the write-backs to undo."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select

from service.extensions import db
from service.models import Track, TrackChunk, TrackSettings, TrackWriteback, utcnow
from service.tracks.positions import TrackPoints
from service.tracks.track_files import ParsedTrack, iter_chunks

CHUNK_POINTS = 65_536
E7 = 1e7  # positions are kept in 1e-7 degrees (about a centimetre) as int32


def add_track(user_id: uuid.UUID, *, name: str, track: ParsedTrack) -> Track:
    """The track and all its chunks, in one transaction."""
    row = Track(id=uuid.uuid4(), user_id=user_id, name=name, point_count=len(track),
                started_ms=int(track.times[0]), ended_ms=int(track.times[-1]), created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    for seq, (times, latitudes, longitudes) in enumerate(iter_chunks(track, CHUNK_POINTS)):
        db.session.add(TrackChunk(
            track_id=row.id, seq=seq, user_id=user_id, started_ms=int(times[0]), ended_ms=int(times[-1]),
            point_count=len(times), times=times.astype("<i8").tobytes(),
            latitudes=np.round(latitudes * E7).astype("<i4").tobytes(),
            longitudes=np.round(longitudes * E7).astype("<i4").tobytes(),
        ))
        db.session.flush()
    db.session.commit()
    return row


def tracks_of(user_id: uuid.UUID) -> list[Track]:
    return list(db.session.scalars(select(Track).where(Track.user_id == user_id)
                                   .order_by(Track.started_ms, Track.id)))


def point_total(user_id: uuid.UUID) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Track.point_count), 0))
                                 .where(Track.user_id == user_id)) or 0)


def remove_track(user_id: uuid.UUID, track_id: uuid.UUID) -> bool:
    result = db.session.execute(delete(Track).where(Track.user_id == user_id, Track.id == track_id))
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def points(user_id: uuid.UUID, *, start_ms: int | None = None, end_ms: int | None = None) -> list[TrackPoints]:
    """Each track's points in [start, end] (every point without bounds), one TrackPoints a
    track, sorted by time. Whole chunks are read: a little more than asked, never less."""
    query = select(TrackChunk.track_id, TrackChunk.times, TrackChunk.latitudes, TrackChunk.longitudes).where(
        TrackChunk.user_id == user_id)
    if start_ms is not None:
        query = query.where(TrackChunk.ended_ms >= start_ms)
    if end_ms is not None:
        query = query.where(TrackChunk.started_ms <= end_ms)
    by_track: dict[uuid.UUID, list[Any]] = {}
    for track_id, times, latitudes, longitudes in db.session.execute(query.order_by(TrackChunk.track_id,
                                                                                     TrackChunk.seq)):
        by_track.setdefault(track_id, []).append((times, latitudes, longitudes))
    result = []
    for chunks in by_track.values():
        result.append(TrackPoints(
            np.concatenate([np.frombuffer(c[0], dtype="<i8") for c in chunks]).astype(np.int64),
            np.concatenate([np.frombuffer(c[1], dtype="<i4") for c in chunks]) / E7,
            np.concatenate([np.frombuffer(c[2], dtype="<i4") for c in chunks]) / E7,
        ))
    return result


# ---------------------------------------------------------------- settings and fit


def settings_of(user_id: uuid.UUID) -> TrackSettings | None:
    return db.session.get(TrackSettings, user_id)


def save_settings(user_id: uuid.UUID, **values: Any) -> TrackSettings:
    row = db.session.get(TrackSettings, user_id)
    if row is None:
        row = TrackSettings(user_id=user_id, fitted_from_photos=0)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.commit()
    return row


# ---------------------------------------------------------------- write-backs


def writebacks(user_id: uuid.UUID, asset_ids: Iterable[str] | None = None) -> dict[str, TrackWriteback]:
    query = select(TrackWriteback).where(TrackWriteback.user_id == user_id)
    if asset_ids is not None:
        query = query.where(TrackWriteback.asset_id.in_(list(asset_ids)))
    return {row.asset_id: row for row in db.session.scalars(query.order_by(TrackWriteback.written_at.desc()))}


def remember_writeback(user_id: uuid.UUID, asset_id: str, *, previous: tuple[float | None, float | None],
                       written: tuple[float, float]) -> None:
    """What was written and, the first time, what was there before (a second write keeps
    the first one's previous position, so undo goes back to the original)."""
    row = db.session.get(TrackWriteback, (user_id, asset_id))
    if row is None:
        row = TrackWriteback(user_id=user_id, asset_id=asset_id, previous_latitude=previous[0],
                             previous_longitude=previous[1])
        db.session.add(row)
    row.written_latitude, row.written_longitude = written
    row.written_at = utcnow()
    db.session.commit()


def forget_writebacks(user_id: uuid.UUID, asset_ids: Sequence[str]) -> None:
    if asset_ids:
        db.session.execute(delete(TrackWriteback).where(TrackWriteback.user_id == user_id,
                                                        TrackWriteback.asset_id.in_(list(asset_ids))))
        db.session.commit()
