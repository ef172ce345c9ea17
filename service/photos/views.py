"""/api/users/{me|userId}/immich/photos (search, thumbnail, download) and .../immich/map (clusters,
histogram and photos of a view)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request
from flask_jwt_extended import jwt_required

from service.auth.access import owner_of
from service.auth.media_access import media_access_required
from service.errors import InvalidInput, envelope
from service.extensions import limiter
from service.photos import map_data, media_proxy, photo_service
from service.photos.search import parse_photo_id, parse_query

bp = Blueprint("photos", __name__)
MEDIA_ENDPOINTS = frozenset({"photos.thumbnail", "photos.download"})

PHOTOS_PATH = "/api/users/<user_ref>/immich/photos"
MAP_PATH = "/api/users/<user_ref>/immich/map"


@limiter.request_filter
def _media_has_no_limit() -> bool:
    """Thumbnails and originals carry no rate limit (a map asks for them by the dozen), so
    flask-limiter need not work out, request after request, that none applies."""
    return request.endpoint in MEDIA_ENDPOINTS


def _url_prefix(user_ref: str, owner_id: Any) -> str:
    ref = "me" if user_ref == "me" else str(owner_id)
    return f"/api/users/{ref}/immich/photos/"


@bp.get(PHOTOS_PATH + "/search")
@jwt_required()
def search(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    query = parse_query(request.args)
    result = photo_service.search(owner_id=owner.id, query=query, url_prefix=_url_prefix(user_ref, owner.id))
    return envelope(result.to_dict())


@bp.get(MAP_PATH + "/clusters")
@jwt_required()
def map_clusters(user_ref: str) -> Any:
    query = map_data.parse_map_query(request.args, viewport_required=True)
    return envelope(photo_service.map_clusters(owner_id=owner_of(user_ref).id, query=query))


@bp.get(MAP_PATH + "/histogram")
@jwt_required()
def map_histogram(user_ref: str) -> Any:
    query = map_data.parse_map_query(request.args, viewport_required=False)
    return envelope(photo_service.map_histogram(owner_id=owner_of(user_ref).id, query=query))


@bp.get(MAP_PATH + "/photos")
@jwt_required()
def map_photos(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    query = map_data.parse_map_query(request.args, viewport_required=False)
    prefix = _url_prefix(user_ref, owner.id)
    return envelope(photo_service.map_photos(owner_id=owner.id, query=query, url_prefix=prefix))


@bp.get(PHOTOS_PATH + "/<photo_id>/thumbnail")
@media_access_required
def thumbnail(user_ref: str, photo_id: str) -> Any:
    access = g.media_access
    size = request.args.get("size", "thumbnail")
    if size not in photo_service.THUMBNAIL_SIZES:
        raise InvalidInput("size must be thumbnail or preview")
    if_none_match = request.headers.get("If-None-Match")
    media = photo_service.open_thumbnail(owner_id=access.user_id, creds=access.credentials(user_ref),
                                         photo_id=parse_photo_id(photo_id), size=size, if_none_match=if_none_match)
    return media_proxy.thumbnail_response(media, if_none_match, current_app.config["THUMBNAIL_ACCEL_REDIRECT"])


@bp.get(PHOTOS_PATH + "/<photo_id>/download")
@media_access_required
def download(user_ref: str, photo_id: str) -> Any:
    access = g.media_access
    asset_id = parse_photo_id(photo_id)
    media = photo_service.open_original(owner_id=access.user_id, creds=access.credentials(user_ref), photo_id=asset_id,
                                        range_header=request.headers.get("Range"),
                                        if_range=request.headers.get("If-Range"))
    return media_proxy.download_response(media, asset_id)
