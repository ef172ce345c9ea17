"""The library index as location history reads it: capture times of photos without GPS,
photos with GPS for fitting the camera clock, and a position written back to Immich."""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import select, update

from service.extensions import db
from service.models import LibraryAsset
from service.tracks.positions import Floats, Times


def gpsless_times(user_id: uuid.UUID, *, start_ms: int, end_ms: int) -> dict[str, int]:
    """fileCreatedAt of each image without GPS in [start, end], by id."""
    rows = db.session.execute(select(LibraryAsset.asset_id, LibraryAsset.file_created_ms).where(
        LibraryAsset.user_id == user_id, LibraryAsset.type == "IMAGE", LibraryAsset.latitude.is_(None),
        LibraryAsset.file_created_ms >= start_ms, LibraryAsset.file_created_ms <= end_ms))
    return {asset_id: created for asset_id, created in rows if created is not None}


def gps_photos(user_id: uuid.UUID, *, start_ms: int, end_ms: int) -> tuple[Times, Floats, Floats]:
    """Times and positions of the images with GPS in [start, end], by time."""
    rows = db.session.execute(select(LibraryAsset.file_created_ms, LibraryAsset.latitude, LibraryAsset.longitude)
                              .where(LibraryAsset.user_id == user_id, LibraryAsset.type == "IMAGE",
                                     LibraryAsset.latitude.is_not(None), LibraryAsset.longitude.is_not(None),
                                     LibraryAsset.file_created_ms >= start_ms, LibraryAsset.file_created_ms <= end_ms)
                              .order_by(LibraryAsset.file_created_ms)).all()
    times = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    latitudes = np.fromiter((row[1] for row in rows), np.float64, len(rows))
    longitudes = np.fromiter((row[2] for row in rows), np.float64, len(rows))
    return times, latitudes, longitudes


def set_position(user_id: uuid.UUID, asset_id: str, latitude: float | None, longitude: float | None) -> None:
    """What Immich now holds, so the map shows it before the next sync reads it back."""
    db.session.execute(update(LibraryAsset).where(LibraryAsset.user_id == user_id, LibraryAsset.asset_id == asset_id)
                       .values(latitude=latitude, longitude=longitude))
    db.session.commit()
