"""/api/users/{me|userId}/tracks: import, list and delete tracks; the camera clock setting;
the simplified path for the map; and the estimates to review, write to Immich and undo."""

from __future__ import annotations

import uuid
from typing import IO, Any

from flask import Blueprint, current_app, request
from flask_jwt_extended import jwt_required
from werkzeug.exceptions import RequestEntityTooLarge

from service.auth.access import owner_of
from service.errors import InvalidInput, envelope
from service.photos.search import parse_query
from service.tracks import review, track_service
from service.tracks.track_service import UploadTooLarge
from service.validation import json_object

bp = Blueprint("tracks", __name__)

TRACKS_PATH = "/api/users/<user_ref>/tracks"


def _upload() -> tuple[IO[bytes], str | None, int]:
    """The multipart field `file` (werkzeug spools it to a temporary file as it arrives)."""
    limit_mb = int(current_app.config["TRACK_UPLOAD_MB"])
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise UploadTooLarge(limit_mb) from None
    if upload is None:
        raise InvalidInput("file is required: send the track as multipart/form-data in a field named file")
    return upload.stream, upload.filename, limit_mb


def _zoom(raw: str | None) -> int:
    if raw in (None, ""):
        return 12
    if not raw.isdigit() or int(raw) > 22:
        raise InvalidInput("zoom must be a whole number from 0 to 22")
    return int(raw)


def _photos_prefix(user_ref: str, owner_id: Any) -> str:
    return f"/api/users/{'me' if user_ref == 'me' else owner_id}/immich/photos/"


@bp.post(TRACKS_PATH)
@jwt_required()
def upload_track(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    stream, filename, limit_mb = _upload()
    return envelope(track_service.import_track(user_id=owner.id, upload=stream, filename=filename,
                                               limit_mb=limit_mb), 201)


@bp.get(TRACKS_PATH)
@jwt_required()
def list_tracks(user_ref: str) -> Any:
    return envelope(track_service.list_tracks(user_id=owner_of(user_ref).id))


@bp.delete(TRACKS_PATH + "/<uuid:track_id>")  # a UUID only: /tracks/settings is another resource
@jwt_required()
def delete_track(user_ref: str, track_id: uuid.UUID) -> Any:
    track_service.delete_track(user_id=owner_of(user_ref).id, track_id=track_id)
    return envelope("Track deleted")


@bp.get(TRACKS_PATH + "/settings")
@jwt_required()
def read_settings(user_ref: str) -> Any:
    return envelope(track_service.read_settings(user_id=owner_of(user_ref).id))


@bp.put(TRACKS_PATH + "/settings")
@jwt_required()
def save_settings(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(track_service.save_settings(user_id=owner.id, body=json_object()))


@bp.get(TRACKS_PATH + "/path")
@jwt_required()
def track_path(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    query = parse_query({k: v for k, v in request.args.items() if k in ("startDate", "endDate")})
    return envelope(track_service.track_path(user_id=owner.id, start=query.start, end=query.end,
                                             zoom=_zoom(request.args.get("zoom"))))


@bp.get(TRACKS_PATH + "/estimates")
@jwt_required()
def review_estimates(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    query = parse_query(request.args)
    return envelope(review.review(owner_id=owner.id, query=query, url_prefix=_photos_prefix(user_ref, owner.id)))


@bp.post(TRACKS_PATH + "/estimates/apply", defaults={"undo": False})
@bp.post(TRACKS_PATH + "/estimates/undo", defaults={"undo": True})
@jwt_required()
def write_estimates(user_ref: str, undo: bool) -> Any:
    owner = owner_of(user_ref)
    photo_ids = track_service.parse_photo_ids(json_object())
    return envelope(track_service.write_estimates(user_id=owner.id, photo_ids=photo_ids, undo=undo))
