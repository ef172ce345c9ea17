"""/api/users/{me|userId}/immich/photos: search, thumbnail, download."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, request
from flask_jwt_extended import jwt_required

from service.auth.access import owner_of
from service.errors import ApiError, envelope
from service.immich import config
from service.photos import media_proxy
from service.photos.search import (
    InvalidQuery,
    PhotoSet,
    fetch_range,
    iso_utc,
    parse_photo_id,
    parse_query,
    search_photos,
)

bp = Blueprint("photos", __name__)

PHOTOS_PATH = "/api/users/<user_ref>/immich/photos"


def _client(owner_id: Any) -> Any:
    creds = _credentials(owner_id)
    return config.upstreams().client(creds.server_url, creds.api_key)


def _photo_id(raw: str) -> str:
    try:
        return parse_photo_id(raw)
    except InvalidQuery as exc:
        raise ApiError(400, str(exc)) from None


@bp.get(PHOTOS_PATH + "/search")
@jwt_required()
def search(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    try:
        query = parse_query(request.args)
    except InvalidQuery as exc:
        raise ApiError(400, str(exc)) from None
    creds = _credentials(owner.id)
    upstreams = config.upstreams()
    cache = current_app.extensions["search_cache"]
    executor = current_app.extensions["search_executor"]

    def load(start: datetime, end: datetime) -> PhotoSet:
        key = (owner.id, creds.server_url, creds.api_key, iso_utc(start), iso_utc(end))
        client = upstreams.client(creds.server_url, creds.api_key)
        return cache.get_or_load(
            key, lambda: fetch_range(client, executor, start=start, end=end, window=upstreams.max_concurrency)
        )

    ref = "me" if user_ref == "me" else str(owner.id)
    photos = search_photos(query=query, load=load, url_prefix=f"/api/users/{ref}/immich/photos/")
    return envelope({"photos": photos, "totalCount": len(photos)})


def _credentials(owner_id: Any) -> config.Credentials:
    try:
        return config.credentials(owner_id)
    except config.NotConfigured as exc:
        raise ApiError(409, str(exc)) from None


@bp.get(PHOTOS_PATH + "/<photo_id>/thumbnail")
@jwt_required()
def thumbnail(user_ref: str, photo_id: str) -> Any:
    owner = owner_of(user_ref)
    asset_id = _photo_id(photo_id)
    size = request.args.get("size", "thumbnail")
    if size not in ("thumbnail", "preview"):
        raise ApiError(400, "size must be thumbnail or preview")
    if_none_match = request.headers.get("If-None-Match")
    media = _client(owner.id).open_thumbnail(asset_id, size=size, if_none_match=if_none_match)
    return media_proxy.thumbnail_response(media, if_none_match)


@bp.get(PHOTOS_PATH + "/<photo_id>/download")
@jwt_required()
def download(user_ref: str, photo_id: str) -> Any:
    owner = owner_of(user_ref)
    asset_id = _photo_id(photo_id)
    media = _client(owner.id).open_original(
        asset_id, range_header=request.headers.get("Range"), if_range=request.headers.get("If-Range")
    )
    return media_proxy.download_response(media, asset_id)
