"""Location history as the views and the search use it: importing and listing tracks, the
camera clock setting and its automatic fit, estimated positions for photos without GPS, the
simplified path for the map, and writing chosen estimates to Immich (and undoing that)."""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
from flask import current_app

from service.errors import AppError, InvalidInput
from service.immich import settings
from service.immich.client import ImmichNotFound
from service.library import store as index_store
from service.library.asset_rows import EPOCH, epoch_ms, iso_ms
from service.models import Track
from service.tracks import library_rows, path, store
from service.tracks.positions import FIT_RANGE_S, ClockFit, Estimates, TrackPoints, estimate, fit_clock_offset
from service.tracks.track_files import TrackFileInvalid, parse_track_file

MAX_POINTS_PER_USER = 1_000_000
MAX_PHOTO_IDS = 500
NO_TIME = -(2**62)  # a photo without a time: matches no track point
OFFSET_LIMIT_S = 7 * 86_400


class TrackNotFound(AppError):
    status = 404
    message = "Track not found"


class UploadTooLarge(AppError):
    status = 413

    def __init__(self, limit_mb: int) -> None:
        super().__init__(f"The file is too large: tracks may be at most {limit_mb} MB (TRACK_UPLOAD_MB)")


def max_gap_ms() -> int:
    return int(current_app.config["TRACK_MAX_GAP_MINUTES"]) * 60_000


# ---------------------------------------------------------------- tracks


def import_track(*, user_id: uuid.UUID, upload: IO[bytes], filename: str | None, limit_mb: int) -> dict[str, Any]:
    """Copy the upload to a temporary file (never whole in memory), read its points and
    store them; nothing is stored when the file is unusable."""
    settings.credentials(user_id)
    room = MAX_POINTS_PER_USER - store.point_total(user_id)
    if room <= 0:
        raise InvalidInput(f"Your tracks already hold {MAX_POINTS_PER_USER:,} points, the most kept per user: "
                           "delete a track first")
    with tempfile.TemporaryDirectory(prefix="photo-atlas-track-") as folder:
        target = Path(folder) / "upload"
        with open(target, "wb") as out:
            copied = _copy(upload, out, limit_mb * 1024 * 1024)
        if copied == 0:
            raise TrackFileInvalid("The file is empty")
        parsed = parse_track_file(target, limit=room)
    name = _track_name(parsed.name, filename)
    row = store.add_track(user_id, name=name, track=parsed)
    return describe(row)


def _copy(source: IO[bytes], target: IO[bytes], limit: int) -> int:
    copied = 0
    while chunk := source.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            raise UploadTooLarge(limit // (1024 * 1024))
        target.write(chunk)
    return copied


def _track_name(inside: str | None, filename: str | None) -> str:
    if inside and inside.strip():
        return _clean(inside)
    if filename:
        stem = re.sub(r"\.(gpx|geojson|json|xml)$", "", Path(filename.replace("\\", "/")).name, flags=re.I)
        if stem.strip():
            return _clean(stem)
    return "Track"


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable()).strip()[:200] or "Track"


def describe(row: Track) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "pointCount": row.point_count,
            "startedAt": iso_ms(row.started_ms), "endedAt": iso_ms(row.ended_ms)}


def list_tracks(*, user_id: uuid.UUID) -> list[dict[str, Any]]:
    settings.credentials(user_id)
    return [describe(row) for row in store.tracks_of(user_id)]


def delete_track(*, user_id: uuid.UUID, track_id: uuid.UUID) -> None:
    settings.credentials(user_id)
    if not store.remove_track(user_id, track_id):
        raise TrackNotFound()


def parse_uuid(name: str, raw: str) -> uuid.UUID:
    try:
        if len(raw) == 36:
            return uuid.UUID(raw)
    except ValueError:
        pass
    raise InvalidInput(f"{name} must be a UUID")


# ---------------------------------------------------------------- clock offset


def read_settings(*, user_id: uuid.UUID) -> dict[str, Any]:
    settings.credentials(user_id)
    row = store.settings_of(user_id)
    fit = _fit(user_id)
    return {"cameraClockOffsetSeconds": row.camera_clock_offset_seconds if row else None,
            "fittedOffsetSeconds": fit.offset_seconds, "fittedFromPhotos": fit.photos}


def save_settings(*, user_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
    settings.credentials(user_id)
    if "cameraClockOffsetSeconds" not in body:
        raise InvalidInput("cameraClockOffsetSeconds is required: whole seconds, or null to fit it automatically")
    offset = body["cameraClockOffsetSeconds"]
    if isinstance(offset, float) and offset.is_integer():
        offset = int(offset)  # JSON does not tell 60 from 60.0
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int)
                               or abs(offset) > OFFSET_LIMIT_S):
        raise InvalidInput(f"cameraClockOffsetSeconds must be whole seconds between -{OFFSET_LIMIT_S} and "
                           f"{OFFSET_LIMIT_S}, or null")
    store.save_settings(user_id, camera_clock_offset_seconds=offset)
    return read_settings(user_id=user_id)


def clock_offset_seconds(user_id: uuid.UUID) -> int:
    """The offset to take off photo times: the user's own, else the fitted one, else 0."""
    row = store.settings_of(user_id)
    if row is not None and row.camera_clock_offset_seconds is not None:
        return row.camera_clock_offset_seconds
    return _fit(user_id).offset_seconds or 0


def _fit(user_id: uuid.UUID) -> ClockFit:
    """The fitted offset, redone only when the tracks or the index changed since the last fit."""
    tracks = store.tracks_of(user_id)
    if not tracks:
        return ClockFit(None, 0)
    state = index_store.state(user_id)
    gap = max_gap_ms()
    key = hashlib.sha256(repr((
        [(str(t.id), t.point_count) for t in tracks],
        (state.indexed_count, state.high_water_ms) if state else None, gap,  # moves only when the library does
    )).encode()).hexdigest()
    row = store.settings_of(user_id)
    if row is not None and row.fitted_key == key:
        return ClockFit(row.fitted_offset_seconds, row.fitted_from_photos)
    reach = FIT_RANGE_S * 1000 + gap
    start, end = min(t.started_ms for t in tracks) - reach, max(t.ended_ms for t in tracks) + reach
    times, latitudes, longitudes = library_rows.gps_photos(user_id, start_ms=start, end_ms=end)
    fit = fit_clock_offset(store.points(user_id), times, latitudes, longitudes, max_gap_ms=gap)
    store.save_settings(user_id, fitted_offset_seconds=fit.offset_seconds, fitted_from_photos=fit.photos,
                        fitted_key=key)
    return fit


# ---------------------------------------------------------------- estimates


def estimates_for(*, user_id: uuid.UUID, photos: Sequence[dict[str, Any]], start: datetime, end: datetime,
                  from_index: bool) -> Estimates | None:
    """For each photo (in order) without GPS, its position on the user's tracks at its
    capture time (fileCreatedAt from the index, else takenAt) less the camera clock offset;
    NaN where there is none. None when no photo could have one."""
    missing = np.array([i for i, photo in enumerate(photos) if photo["latitude"] is None], dtype=np.int64)
    if missing.size == 0 or not store.tracks_of(user_id):
        return None
    created = library_rows.gpsless_times(user_id, start_ms=_ms(start), end_ms=_ms(end)) if from_index else {}
    times = np.fromiter((_time_of(photos[i], created) for i in missing.tolist()), np.int64, missing.size)
    offset_ms = clock_offset_seconds(user_id) * 1000
    known = times != NO_TIME
    times = np.where(known, times - offset_ms, NO_TIME)
    if not known.any():
        return None
    gap = max_gap_ms()
    tracks = store.points(user_id, start_ms=int(times[known].min()) - gap, end_ms=int(times[known].max()) + gap)
    found = estimate(tracks, times, max_gap_ms=gap)
    size = len(photos)
    result = Estimates(np.full(size, np.nan), np.full(size, np.nan), np.full(size, np.nan))
    result.latitudes[missing] = found.latitudes
    result.longitudes[missing] = found.longitudes
    result.accuracies[missing] = found.accuracies
    return result


def _time_of(photo: dict[str, Any], created: dict[str, int]) -> int:
    ms = created.get(photo["id"])
    if ms is None:
        ms = epoch_ms(photo.get("takenAt"))
    return NO_TIME if ms is None else ms


def _ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


def track_path(*, user_id: uuid.UUID, start: datetime, end: datetime, zoom: int) -> dict[str, Any]:
    settings.credentials(user_id)
    start_ms, end_ms = _ms(start), _ms(end)
    tracks = []
    for points in store.points(user_id, start_ms=start_ms, end_ms=end_ms):
        keep = (points.times >= start_ms) & (points.times <= end_ms)
        tracks.append(TrackPoints(points.times[keep], points.latitudes[keep], points.longitudes[keep]))
    lines = path.simplify(tracks, zoom=zoom, max_gap_ms=max_gap_ms())
    return {"lines": lines, "pointCount": sum(len(line) for line in lines)}


# ---------------------------------------------------------------- write-back


def parse_photo_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("photoIds")
    if not isinstance(ids, list) or not ids:
        raise InvalidInput("photoIds is required: a list of photo ids")
    if len(ids) > MAX_PHOTO_IDS:
        raise InvalidInput(f"photoIds may hold at most {MAX_PHOTO_IDS} ids at a time")
    result = []
    for index, raw in enumerate(ids):
        if not isinstance(raw, str):
            raise InvalidInput(f"photoIds[{index}] must be a UUID")
        result.append(str(parse_uuid(f"photoIds[{index}]", raw)))
    return list(dict.fromkeys(result))


def _position(asset: dict[str, Any]) -> tuple[float | None, float | None]:
    exif = asset.get("exifInfo") or {}
    lat, lon = exif.get("latitude"), exif.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool):
        return float(lat), float(lon)
    return None, None


def write_estimates(*, user_id: uuid.UUID, photo_ids: list[str], undo: bool) -> dict[str, Any]:
    """Write the photos' estimates to Immich, or (undo) put back what they replaced."""
    if undo:
        return undo_estimates(user_id=user_id, photo_ids=photo_ids)
    return apply_estimates(user_id=user_id, photo_ids=photo_ids)


def apply_estimates(*, user_id: uuid.UUID, photo_ids: list[str]) -> dict[str, Any]:
    """Write the estimated positions of these photos to Immich, remembering what they had."""
    client = settings.client_for(user_id)
    skipped: list[dict[str, str]] = []
    assets: list[tuple[str, int]] = []
    for photo_id in photo_ids:
        try:
            asset = client.asset_info(photo_id)
        except ImmichNotFound:
            skipped.append({"photoId": photo_id, "reason": "Not found in Immich"})
            continue
        if _position(asset)[0] is not None:
            skipped.append({"photoId": photo_id, "reason": "It already has a position"})
            continue
        ms = epoch_ms(asset.get("fileCreatedAt"))
        if ms is None:
            skipped.append({"photoId": photo_id, "reason": "Immich has no time for it"})
            continue
        assets.append((photo_id, ms))
    applied = []
    if assets:
        gap = max_gap_ms()
        times = np.array([ms for _, ms in assets], dtype=np.int64) - clock_offset_seconds(user_id) * 1000
        tracks = store.points(user_id, start_ms=int(times.min()) - gap, end_ms=int(times.max()) + gap)
        found = estimate(tracks, times, max_gap_ms=gap)
        for index, (photo_id, _) in enumerate(assets):
            if np.isnan(found.accuracies[index]):
                skipped.append({"photoId": photo_id, "reason": "No track point near its time"})
                continue
            lat, lon = round(float(found.latitudes[index]), 7), round(float(found.longitudes[index]), 7)
            client.update_asset_position(photo_id, latitude=lat, longitude=lon)
            store.remember_writeback(user_id, photo_id, previous=(None, None), written=(lat, lon))
            library_rows.set_position(user_id, photo_id, lat, lon)
            applied.append({"photoId": photo_id, "latitude": lat, "longitude": lon,
                            "accuracyMeters": int(round(float(found.accuracies[index])))})
    return {"applied": applied, "skipped": skipped}


def undo_estimates(*, user_id: uuid.UUID, photo_ids: list[str]) -> dict[str, Any]:
    """Put back the positions these photos had before their estimates were written. Immich
    cannot take a position away through its API; it reads 0,0 as none when it next extracts
    the photo's metadata, so that is what stands for "no position"."""
    client = settings.client_for(user_id)
    written = store.writebacks(user_id, photo_ids)
    restored, skipped, done = [], [], []
    for photo_id in photo_ids:
        row = written.get(photo_id)
        if row is None:
            skipped.append({"photoId": photo_id, "reason": "Photo Atlas wrote no position to it"})
            continue
        try:
            current = _position(client.asset_info(photo_id))
        except ImmichNotFound:
            skipped.append({"photoId": photo_id, "reason": "Not found in Immich"})
            done.append(photo_id)
            continue
        if current[0] is None or current[1] is None or abs(current[0] - row.written_latitude) > 1e-6 \
                or abs(current[1] - row.written_longitude) > 1e-6:
            skipped.append({"photoId": photo_id, "reason": "Its position was changed in Immich since; left as it is"})
            done.append(photo_id)
            continue
        previous = (row.previous_latitude, row.previous_longitude)
        if previous[0] is None or previous[1] is None:
            client.update_asset_position(photo_id, latitude=0.0, longitude=0.0)
        else:
            client.update_asset_position(photo_id, latitude=previous[0], longitude=previous[1])
        library_rows.set_position(user_id, photo_id, previous[0], previous[1])
        restored.append({"photoId": photo_id, "latitude": previous[0], "longitude": previous[1]})
        done.append(photo_id)
    store.forget_writebacks(user_id, done)
    return {"restored": restored, "skipped": skipped}


def applied_estimates(user_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"photoId": row.asset_id, "latitude": row.written_latitude, "longitude": row.written_longitude,
             "previousLatitude": row.previous_latitude, "previousLongitude": row.previous_longitude,
             "appliedAt": iso_ms(_ms(index_store.as_utc(row.written_at)))}
            for row in store.writebacks(user_id).values()]
