"""Shares: the owner's API (/api/users/{me|userId}/shares and .../privacy-zones) and the public
side, open to anyone with the token (/s/<token> and /api/shares/<token>/...)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask_jwt_extended import jwt_required

from service.auth.access import owner_of
from service.config import tile_origin
from service.errors import InvalidInput, envelope
from service.extensions import client_address, limiter
from service.photos import map_data, media_proxy, photo_service
from service.photos.search import parse_photo_id
from service.shares import public, share_links
from service.validation import json_object, json_value, text_field

bp = Blueprint("shares", __name__)

SHARES_PATH = "/api/users/<user_ref>/shares"
PUBLIC_PATH = "/api/shares/<token>"


def _share_key() -> str:
    """Rate limits count per share (by the token's hash, never the token itself)."""
    return "share:" + share_links.token_hash(str((request.view_args or {}).get("token", "")))


def _list_limit() -> str:
    return str(current_app.config["SHARE_RATE_LIMIT"])


def _media_limit() -> str:
    return str(current_app.config["SHARE_MEDIA_RATE_LIMIT"])


def _map_limit() -> str:
    return str(current_app.config["SHARE_MAP_RATE_LIMIT"])


def _unlock_limit() -> str:
    return str(current_app.config["SHARE_UNLOCK_RATE_LIMIT"])


def _wrong_password(response: Any) -> bool:
    return bool(response.status_code == 401)


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _open(token: str) -> Any:
    return public.open_share(token=token, cookie=request.cookies.get(public.UNLOCK_COOKIE), secret_key=_secret())


@bp.after_request
def public_headers(response: Response) -> Response:
    """Share pages and their API: a strict policy of their own, never indexed, no referrer."""
    if request.path.startswith(("/s/", "/api/shares/")):
        tiles = tile_origin(current_app.config.get("TILE_URL") or "")
        origin = f" {tiles}" if tiles else ""
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: blob:{origin}; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


# ------------------------------------------------------------------ the owner's API


@bp.get(SHARES_PATH)
@jwt_required()
def list_shares(user_ref: str) -> Any:
    return envelope(share_links.list_shares(owner_id=owner_of(user_ref).id))


@bp.post(SHARES_PATH)
@jwt_required()
def create_share(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    created = share_links.create_share(owner_id=owner.id, body=json_object(),
                                       max_days=current_app.config["SHARE_MAX_DAYS"])
    return envelope(created, 201)


@bp.patch(SHARES_PATH + "/<share_id>")
@jwt_required()
def update_share(user_ref: str, share_id: str) -> Any:
    owner = owner_of(user_ref)
    updated = share_links.update_share(owner_id=owner.id, share_id=share_links.parse_share_id(share_id),
                                       body=json_object(), max_days=current_app.config["SHARE_MAX_DAYS"])
    return envelope(updated)


@bp.delete(SHARES_PATH + "/<share_id>")
@jwt_required()
def revoke_share(user_ref: str, share_id: str) -> Any:
    owner = owner_of(user_ref)
    share_links.revoke_share(owner_id=owner.id, share_id=share_links.parse_share_id(share_id))
    return envelope("Share revoked")


@bp.get("/api/users/<user_ref>/privacy-zones")
@jwt_required()
def privacy_zones(user_ref: str) -> Any:
    return envelope(share_links.privacy_zones(user_id=owner_of(user_ref).id))


@bp.put("/api/users/<user_ref>/privacy-zones")
@jwt_required()
def replace_privacy_zones(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(share_links.replace_privacy_zones(user_id=owner.id, body=json_value()))


# ------------------------------------------------------------------ public


@bp.get("/s/<token>")
@limiter.limit(_list_limit, key_func=_share_key, scope="share-page")
def share_page(token: str) -> Any:
    found = public.page_state(token=token, cookie=request.cookies.get(public.UNLOCK_COOKIE), secret_key=_secret())
    if found.state in ("missing", "expired"):
        status = 404 if found.state == "missing" else 410
        return render_template("share_gone.html", page="share", state=found.state, config={}), status
    assert found.share is not None
    config = {**public.page_config(share=found.share, token=token, locked=found.state == "locked"),
              "tileUrl": current_app.config["TILE_URL"],
              "tileAttribution": current_app.config.get("TILE_ATTRIBUTION", "")}
    return render_template("share.html", page="share", config=config, share_name=found.share.name)


@bp.post(PUBLIC_PATH + "/unlock")
@limiter.limit(_unlock_limit, key_func=client_address, deduct_when=_wrong_password, scope="share-unlock-address")
@limiter.limit(_unlock_limit, key_func=_share_key, deduct_when=_wrong_password, scope="share-unlock")
def unlock_share(token: str) -> Any:
    password = text_field(json_object(), "password", max_length=1024)
    value, seconds = public.unlock(token=token, password=password or "", secret_key=_secret())
    response, status = envelope("Unlocked")
    for path in (f"/s/{token}", f"/api/shares/{token}"):
        response.set_cookie(public.UNLOCK_COOKIE, value, max_age=seconds, path=path, httponly=True,
                            samesite="Strict", secure=current_app.config["JWT_COOKIE_SECURE"])
    return response, status


@bp.get(PUBLIC_PATH + "/photos")
@limiter.limit(_list_limit, key_func=_share_key, scope="share-photos")
def share_photos(token: str) -> Any:
    return envelope(public.photos(share=_open(token), token=token))


@bp.get(PUBLIC_PATH + "/map/clusters")
@limiter.limit(_map_limit, key_func=_share_key, scope="share-map")
def share_map_clusters(token: str) -> Any:
    share = _open(token)
    query = map_data.parse_map_query(request.args, viewport_required=True)
    return envelope(public.map_clusters(share=share, query=query))


@bp.get(PUBLIC_PATH + "/map/histogram")
@limiter.limit(_map_limit, key_func=_share_key, scope="share-map")
def share_map_histogram(token: str) -> Any:
    share = _open(token)
    query = map_data.parse_map_query(request.args, viewport_required=False)
    return envelope(public.map_histogram(share=share, query=query))


@bp.get(PUBLIC_PATH + "/map/photos")
@limiter.limit(_map_limit, key_func=_share_key, scope="share-map")
def share_map_photos(token: str) -> Any:
    share = _open(token)
    query = map_data.parse_map_query(request.args, viewport_required=False)
    return envelope(public.map_photos(share=share, token=token, query=query))


@bp.get(PUBLIC_PATH + "/photos/<photo_id>/thumbnail")
@limiter.limit(_media_limit, key_func=_share_key, scope="share-media")
def share_thumbnail(token: str, photo_id: str) -> Any:
    size = request.args.get("size", "thumbnail")
    if size not in photo_service.THUMBNAIL_SIZES:
        raise InvalidInput("size must be thumbnail or preview")
    if_none_match = request.headers.get("If-None-Match")
    media = public.open_thumbnail(share=_open(token), photo_id=parse_photo_id(photo_id), size=size,
                                  if_none_match=if_none_match)
    return public_cache(media_proxy.thumbnail_response(media, if_none_match))


@bp.get(PUBLIC_PATH + "/photos/<photo_id>/download")
@limiter.limit(_media_limit, key_func=_share_key, scope="share-media")
def share_download(token: str, photo_id: str) -> Any:
    asset_id = parse_photo_id(photo_id)
    media = public.open_original(share=_open(token), photo_id=asset_id, range_header=request.headers.get("Range"),
                                 if_range=request.headers.get("If-Range"))
    return media_proxy.download_response(media, asset_id)


def public_cache(response: Response) -> Response:
    # Revalidated every time (the ETag makes that cheap), so a revoked share stops at once.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
