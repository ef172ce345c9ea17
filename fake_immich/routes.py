"""The endpoints the fake serves: a route table and one function per Immich operation.

A route is a method and a path template (as in seed 001), Immich's operationId (it names the
500 fault's message) and the API-key permission the endpoint needs (``x-immich-permission``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from .accounts import USERS, ApiKey
from .assets import MIME_BY_EXT, WEB_IMAGE_MIMES, FakeAsset, asset_json, iter_original
from .auth import authenticate
from .images import solid_jpeg, solid_webp
from .library import AssetUpdateRefused, Library
from .responses import Reply, error_op, node_ext, node_stem
from .timeline import TimelineFilter, bucket_json, parse_time_bucket
from .transport import ParsedRequest
from .validation import (
    is_uuid4,
    validate_asset_bulk_update,
    validate_asset_update,
    validate_media_query,
    validate_metadata_search,
    validate_statistics_query,
    validate_timeline_query,
)

SERVER_VERSION = {"major": 2, "minor": 7, "patch": 4}


@dataclass(frozen=True)
class ApiCall:
    """What an endpoint function gets: the request, its reply, the caller's key, the data."""

    request: ParsedRequest
    reply: Reply
    key: ApiKey | None
    library: Library

    @property
    def user(self) -> str:
        assert self.key is not None, "only for routes that need a permission"
        return self.key.user


# ---- helpers shared by the asset endpoints ---------------------------------------------------


def _asset_id_param(call: ApiCall) -> str | None:
    asset_id = call.request.params.get("id", "")
    if not is_uuid4(asset_id):
        call.reply.bad_request(["id must be a UUID"])
        return None
    return asset_id


def _owned_asset(call: ApiCall, asset_id: str, permission: str) -> FakeAsset | None:
    asset = call.library.owned(call.user, asset_id)
    if asset is None:
        call.reply.bad_request(f"Not found or no {permission} access")
    return asset


def _json_body(call: ApiCall) -> dict | None:
    body = call.request.json if call.request.json is not None else {}
    if not isinstance(body, dict):
        call.reply.bad_request(["an unknown value was passed to the validate function"])
        return None
    return body


def _valid(call: ApiCall, checked: tuple[dict, list[str]]) -> dict | None:
    dto, errors = checked
    if errors:
        call.reply.bad_request(errors)
        return None
    return dto


def _elevated_for_locked(call: ApiCall, dto: dict) -> bool:
    """The locked folder needs an elevated session, which an API key never has."""
    if dto.get("visibility") == "locked":
        call.reply.error(401, "Elevated permission is required", "Unauthorized")
        return False
    return True


# ---- endpoints --------------------------------------------------------------------------------


def get_server_version(call: ApiCall) -> None:
    call.reply.json(200, SERVER_VERSION)


def ping_server(call: ApiCall) -> None:
    call.reply.json(200, {"res": "pong"})


def get_my_user(call: ApiCall) -> None:
    user = dict(USERS[call.user])
    user["quotaUsageInBytes"] = call.library.usage(call.user)
    call.reply.json(200, user)


def search_assets(call: ApiCall) -> None:
    body = _json_body(call)
    dto = None if body is None else _valid(call, validate_metadata_search(body))
    if dto is None:
        return
    library = call.library
    items, next_page = library.search(call.user, dto)
    with_exif = bool(dto.get("withExif"))
    # Built as text: pages of 1000 assets are the hot path of benchmarks.
    text = (
        '{"albums":{"total":0,"count":0,"items":[],"facets":[]},"assets":{'
        f'"total":{len(items)},"count":{len(items)},"items":['
        + ",".join(library.asset_text(a, with_exif) for a in items)
        + '],"facets":[],"nextPage":'
        + ("null" if next_page is None else f'"{next_page}"')
        + "}}"
    )
    call.reply.json_bytes(200, text.encode("utf-8"))


def get_asset_info(call: ApiCall) -> None:
    asset_id = _asset_id_param(call)
    if asset_id is None:
        return
    asset = _owned_asset(call, asset_id, "asset.read")
    if asset is None:
        return
    call.reply.json(200, asset_json(asset, with_exif=True, detail=True))


def view_asset(call: ApiCall) -> None:
    request, reply = call.request, call.reply
    asset_id = _asset_id_param(call)
    if asset_id is None:
        return
    dto, errors = validate_media_query(request.query, with_size=True)
    if errors:
        reply.bad_request(errors)
        return
    size = dto.get("size") or "thumbnail"
    if size == "original":
        # Deprecated: answered before the access check, with a relative Location.
        reply.redirect("original?" + urlencode([p for p in request.pairs if p[0] != "size"]))
        return
    asset = _owned_asset(call, asset_id, "asset.view")
    if asset is None:
        return
    if size == "fullsize":
        if asset.mime_type in WEB_IMAGE_MIMES:
            rest = [p for p in request.pairs if p[0] != "size"]
            reply.redirect("original?" + urlencode(rest))
        else:
            # No full-size rendition (not generated by default): downgrade to the preview.
            pairs = [p for p in request.pairs if p[0] != "size"] + [("size", "preview")]
            path = urlsplit(request.raw).path
            reply.redirect(path + "?" + urlencode(pairs))
        return
    landscape = asset.width >= asset.height
    if size == "preview":
        content = solid_jpeg(160, 120, asset.rgb) if landscape else solid_jpeg(120, 160, asset.rgb)
        ext, ctype, bump = ".jpeg", "image/jpeg", 7_000
    else:
        content = solid_webp(48, 36, asset.rgb) if landscape else solid_webp(36, 48, asset.rgb)
        ext, ctype, bump = ".webp", "image/webp", 5_000
    mtime = asset.created_ms + bump + int(asset.id[-3:], 16) % 997
    reply.file(
        size=len(content),
        mtime_ms=mtime,
        content_type=ctype,
        file_name=f"{node_stem(asset.original_file_name)}_{size}{ext}",
        reader=lambda s, e: iter((content[s : e + 1],)),
        may_cut=False,
    )


def download_asset(call: ApiCall) -> None:
    asset_id = _asset_id_param(call)
    if asset_id is None:
        return
    _dto, errors = validate_media_query(call.request.query, with_size=False)
    if errors:
        call.reply.bad_request(errors)
        return
    asset = _owned_asset(call, asset_id, "asset.download")
    if asset is None:
        return
    ctype = MIME_BY_EXT.get(node_ext(asset.original_path).lower(), "application/octet-stream")
    call.reply.file(
        size=asset.size,
        mtime_ms=asset.sort_ms,  # the file's mtime is set to fileModifiedAt on upload
        content_type=ctype,
        file_name=asset.original_file_name,
        reader=lambda s, e: iter_original(asset, s, e),
        may_cut=True,
    )


def update_asset(call: ApiCall) -> None:
    asset_id = _asset_id_param(call)
    body = None if asset_id is None else _json_body(call)
    dto = None if body is None else _valid(call, validate_asset_update(body))
    if asset_id is None or dto is None:
        return
    try:
        asset = call.library.update_asset(call.user, asset_id, dto)
    except AssetUpdateRefused as refused:
        call.reply.bad_request(str(refused))
        return
    call.reply.json(200, asset_json(asset, with_exif=True, detail=True))


def update_assets(call: ApiCall) -> None:
    body = _json_body(call)
    dto = None if body is None else _valid(call, validate_asset_bulk_update(body))
    if dto is None:
        return
    try:
        call.library.update_assets(call.user, dto)
    except AssetUpdateRefused as refused:
        call.reply.bad_request(str(refused))
        return
    call.reply.no_content()


def get_asset_statistics(call: ApiCall) -> None:
    dto = _valid(call, validate_statistics_query(call.request.query))
    if dto is None or not _elevated_for_locked(call, dto):
        return
    query = TimelineFilter(
        is_trashed=dto.get("isTrashed") is True, visibility=dto.get("visibility"), is_favorite=dto.get("isFavorite")
    )
    call.reply.json(200, call.library.statistics(call.user, query))


def _timeline_filter(call: ApiCall, dto: dict) -> TimelineFilter | None:
    """TimelineService.timeBucketChecks for a caller with an API key and no partners; None
    when it refused (and answered)."""
    if not _elevated_for_locked(call, dto):
        return None
    reply = call.reply
    if "albumId" in dto:
        reply.bad_request("Not found or no album.read access")  # the fake has no albums
        return None
    if dto.get("userId", USERS[call.user]["id"]) != USERS[call.user]["id"]:
        reply.bad_request("Not found or no timeline.read access")
        return None
    if "tagId" in dto:
        reply.bad_request("Not found or no tag.read access")  # nor tags
        return None
    if dto.get("withPartners") and (
        dto.get("visibility") in (None, "archive", "locked") or "isFavorite" in dto or dto.get("isTrashed") is True
    ):
        reply.bad_request(
            "withPartners is only supported for non-archived, non-trashed, non-favorited, non-locked assets"
        )
        return None
    return TimelineFilter(
        is_trashed=dto.get("isTrashed") is True,
        visibility=dto.get("visibility"),
        is_favorite=dto.get("isFavorite"),
        bbox=dto.get("bbox"),
        match_nothing="personId" in dto,  # nor faces
    )


def get_time_buckets(call: ApiCall) -> None:
    dto = _valid(call, validate_timeline_query(call.request.query, with_time_bucket=False))
    query = None if dto is None else _timeline_filter(call, dto)
    if dto is None or query is None:
        return
    ascending = dto.get("order") == "asc"
    call.reply.json(200, call.library.time_buckets(call.user, query, ascending=ascending))


def get_time_bucket(call: ApiCall) -> None:
    dto = _valid(call, validate_timeline_query(call.request.query, with_time_bucket=True))
    query = None if dto is None else _timeline_filter(call, dto)
    if dto is None or query is None:
        return
    month = parse_time_bucket(dto["timeBucket"])
    if month is None:  # PostgreSQL cannot cast it to a timestamp
        call.reply.error(500, error_op(call.request.operation), "Internal Server Error")
        return
    assets = call.library.time_bucket(call.user, month, query, ascending=dto.get("order") == "asc") if month else []
    with_coordinates, with_stacked = bool(dto.get("withCoordinates")), bool(dto.get("withStacked"))
    call.reply.json(200, bucket_json(assets, with_coordinates=with_coordinates, with_stacked=with_stacked))


# ---- the table --------------------------------------------------------------------------------

Handler = Callable[[ApiCall], None]


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "/?$", re.I)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # the path as seed 001 writes it, under /api
    operation: str  # Immich's operationId
    permission: str | None  # None: no authentication at all
    handler: Handler
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _pattern(self.template))


# Order matters where templates overlap: /assets/statistics before /assets/{id}, as in Nest.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/server/version", "getServerVersion", None, get_server_version),
    Route("GET", "/api/server/ping", "pingServer", None, ping_server),
    Route("GET", "/api/users/me", "getMyUser", "user.read", get_my_user),
    Route("POST", "/api/search/metadata", "searchAssets", "asset.read", search_assets),
    Route("GET", "/api/timeline/buckets", "getTimeBuckets", "asset.read", get_time_buckets),
    Route("GET", "/api/timeline/bucket", "getTimeBucket", "asset.read", get_time_bucket),
    Route("GET", "/api/assets/statistics", "getAssetStatistics", "asset.statistics", get_asset_statistics),
    Route("PUT", "/api/assets", "updateAssets", "asset.update", update_assets),
    Route("GET", "/api/assets/{id}/thumbnail", "viewAsset", "asset.view", view_asset),
    Route("GET", "/api/assets/{id}/original", "downloadAsset", "asset.download", download_asset),
    Route("GET", "/api/assets/{id}", "getAssetInfo", "asset.read", get_asset_info),
    Route("PUT", "/api/assets/{id}", "updateAsset", "asset.update", update_asset),
)


def _match(request: ParsedRequest) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        m = route.pattern.match(request.path)
        if m and (route.method == request.method or (route.method == "GET" and request.head)):
            return route, m.groupdict()
    return None


def dispatch(fake: Any, request: ParsedRequest, reply: Reply) -> None:
    """Answer one request: the faults that act before routing, then route, guard and call."""
    if fake.fault == "redirect":
        reply.redirect(fake.redirect_to or f"http://{fake.host}:{fake.port}{request.raw}")
        return
    found = _match(request)
    if found is not None:
        route, request.params = found
        request.operation = route.operation
        request.rec.endpoint = route.template
    if fake.fault == "500" or (found is not None and fake.take_failure(f"{request.method} {found[0].template}")):
        if found is not None:
            reply.error(500, error_op(request.operation), "Internal Server Error")
        else:
            reply.error(500, "Internal server error")
        return
    if found is None:
        reply.error(404, f"Cannot {request.method} {request.raw}", "Not Found")
        return
    # The JSON body parser runs before the guards: a broken body is a 400 even without a key.
    if request.json_error is not None:
        reply.bad_request(request.json_error)
        return
    key = None
    if route.permission is not None:
        key = authenticate(request, reply, route.permission)
        if key is None:
            return
    route.handler(ApiCall(request, reply, key, fake))
