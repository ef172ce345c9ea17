"""Trips as the views see them: detected from the library index, with the user's own names,
hidden trips, merges and splits (only those overrides are stored)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select

from service.components import components
from service.errors import AppError, InvalidInput
from service.extensions import db
from service.immich import settings
from service.library.asset_rows import EPOCH, iso_ms
from service.library.index_service import IndexDisabled
from service.models import LibraryAsset, TripEdit, TripOverride
from service.photos.search import parse_datetime
from service.trips import detection
from service.trips.detection import LibraryPhotos, TripSpan


class TripNotFound(AppError):
    status = 404
    message = "Trip not found"


def _library(user_id: uuid.UUID) -> LibraryPhotos:
    rows = db.session.execute(
        select(LibraryAsset.asset_id, LibraryAsset.file_created_ms, LibraryAsset.local_offset_minutes,
               LibraryAsset.latitude, LibraryAsset.longitude, LibraryAsset.city, LibraryAsset.country,
               LibraryAsset.is_favorite)
        .where(LibraryAsset.user_id == user_id, LibraryAsset.type == "IMAGE",
               LibraryAsset.file_created_ms.is_not(None))
        .order_by(LibraryAsset.file_created_ms, LibraryAsset.asset_id)).all()
    count = len(rows)
    return LibraryPhotos(
        ids=[row[0] for row in rows],
        times=np.fromiter((row[1] for row in rows), np.int64, count),
        offsets=np.fromiter((row[2] or 0 for row in rows), np.int64, count),
        latitudes=np.fromiter((np.nan if row[3] is None or row[4] is None else row[3] for row in rows),
                              np.float64, count),
        longitudes=np.fromiter((np.nan if row[3] is None or row[4] is None else row[4] for row in rows),
                               np.float64, count),
        cities=[row[5] for row in rows],
        countries=[row[6] for row in rows],
        favorites=np.fromiter((bool(row[7]) for row in rows), bool, count),
    )


def _trips(user_id: uuid.UUID) -> tuple[list[dict[str, Any]], LibraryPhotos]:
    found, photos = _detected(user_id)
    return [trip for trip, _ in found], photos


def _detected(user_id: uuid.UUID) -> tuple[list[tuple[dict[str, Any], TripSpan]], LibraryPhotos]:
    """Each trip as the API describes it, beside its photos' span; newest first."""
    settings.credentials(user_id)
    if not components().index_syncer.settings.enabled:
        raise IndexDisabled("Trips are found in the library index, which is turned off on this server")
    photos = _library(user_id)
    spans, away = detection.detect(photos, min_km=float(current_app.config["TRIP_MIN_KM"]))
    edits = [(row.kind, row.start_ms, row.end_ms) for row in db.session.scalars(
        select(TripEdit).where(TripEdit.user_id == user_id).order_by(TripEdit.id))]
    spans = detection.apply_edits(spans, photos, edits)
    overrides = {row.trip_id: row for row in db.session.scalars(
        select(TripOverride).where(TripOverride.user_id == user_id))}
    taken: set[str] = set()
    trips = []
    for span in spans:
        trip_id = detection.trip_id(str(user_id), span, photos, taken)
        taken.add(trip_id)
        override = overrides.get(trip_id)
        trips.append((_describe(trip_id, span, photos, away, override), span))
    trips.sort(key=lambda pair: pair[0]["startedAt"], reverse=True)
    return trips, photos


def _describe(trip_id: str, span: TripSpan, photos: LibraryPhotos, away: Any,
              override: TripOverride | None) -> dict[str, Any]:
    return {
        "id": trip_id,
        "name": (override.name if override and override.name else None) or detection.name_of(span, photos, away),
        "startedAt": iso_ms(int(photos.times[span.photos[0]])),
        "endedAt": iso_ms(int(photos.times[span.photos[-1]])),
        "photoCount": int(len(span.photos)),
        "bbox": detection.bbox_of(span, photos),
        "coverPhotoIds": detection.covers_of(span, photos),
        "hidden": bool(override and override.hidden),
    }


def list_trips(*, user_id: uuid.UUID, include_hidden: bool) -> list[dict[str, Any]]:
    trips, _ = _trips(user_id)
    return [trip for trip in trips if include_hidden or not trip["hidden"]]


def trip_days(*, user_id: uuid.UUID, trip_id: str) -> tuple[datetime, datetime] | None:
    """From the first moment of a trip's first day to the last of its last day (local days,
    as trips are found: each at its photo's own UTC offset); None when no trip has the id."""
    found, photos = _detected(user_id)
    for trip, span in found:
        if trip["id"] == trip_id:
            first, last = int(span.photos[0]), int(span.photos[-1])
            start = int(photos.days[first]) * detection.DAY_MS - int(photos.offsets[first]) * 60_000
            end = (int(photos.days[last]) + 1) * detection.DAY_MS - int(photos.offsets[last]) * 60_000 - 1
            return EPOCH + timedelta(milliseconds=start), EPOCH + timedelta(milliseconds=end)
    return None


def _find(user_id: uuid.UUID, trip_id: str) -> dict[str, Any]:
    trips, _ = _trips(user_id)
    for trip in trips:
        if trip["id"] == trip_id:
            return trip
    raise TripNotFound()


def change_trip(*, user_id: uuid.UUID, trip_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Rename (a name, or null for the detected one) or hide (true) / show (false) a trip."""
    if not {"name", "hidden"} & body.keys():
        raise InvalidInput("Send name (a string, or null for the detected name) and/or hidden (true or false)")
    name = body.get("name")
    if "name" in body and name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200
                                                 or "\x00" in name):
        raise InvalidInput("name must be a non-empty string of at most 200 characters, or null")
    if "hidden" in body and not isinstance(body["hidden"], bool):
        raise InvalidInput("hidden must be true or false")
    _find(user_id, trip_id)
    row = db.session.get(TripOverride, (user_id, trip_id))
    if row is None:
        row = TripOverride(user_id=user_id, trip_id=trip_id, hidden=False)
        db.session.add(row)
    if "name" in body:
        row.name = name.strip() if isinstance(name, str) else None
    if "hidden" in body:
        row.hidden = body["hidden"]
    db.session.commit()
    return _find(user_id, trip_id)


def merge_trips(*, user_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
    ids = body.get("ids")
    if not isinstance(ids, list) or len(ids) < 2 or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("ids must be a list of at least two trip ids")
    if len(set(ids)) != len(ids):
        raise InvalidInput("ids must name different trips")
    chosen = [_find(user_id, trip_id) for trip_id in ids]
    start = min(_ms(trip["startedAt"]) for trip in chosen)
    end = max(_ms(trip["endedAt"]) for trip in chosen)
    db.session.add(TripEdit(user_id=user_id, kind="merge", start_ms=start, end_ms=end))
    db.session.commit()
    trips, _ = _trips(user_id)
    return next(trip for trip in trips if _ms(trip["startedAt"]) <= start <= _ms(trip["endedAt"]))


def split_trip(*, user_id: uuid.UUID, trip_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("at")
    if not isinstance(raw, str):
        raise InvalidInput("at is required: the ISO 8601 time where the second part begins")
    at = _ms_of(parse_datetime("at", raw))
    trip = _find(user_id, trip_id)
    if not _ms(trip["startedAt"]) < at <= _ms(trip["endedAt"]):
        raise InvalidInput("at must fall inside the trip, after its first photo and no later than its last")
    db.session.add(TripEdit(user_id=user_id, kind="split", start_ms=at, end_ms=None))
    db.session.commit()
    trips, _ = _trips(user_id)
    parts = [t for t in trips if _ms(trip["startedAt"]) <= _ms(t["startedAt"]) <= _ms(trip["endedAt"])]
    return sorted(parts, key=lambda t: t["startedAt"])


def _ms(text: str) -> int:
    return _ms_of(datetime.fromisoformat(text))


def _ms_of(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)
