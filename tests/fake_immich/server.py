"""A fake Immich 2.7.4 server over real HTTP, for tests and local development.

Behaviour follows Immich's OpenAPI spec and its server code: NestJS error bodies with a
``correlationId``, API-key permissions, access errors as 400 "Not found or no <perm> access",
Express-style file responses (weak ETag from size and mtime, Last-Modified, byte ranges,
conditional GET) and Node's keep-alive (idle connections are closed after 5 s).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import json
import operator
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from . import data
from .data import (
    API_KEYS,
    MIME_BY_EXT,
    USERS,
    WEB_IMAGE_MIMES,
    ApiKey,
    FakeAsset,
    asset_json,
    asset_json_text,
    haversine_m,
    iter_original,
    ms_of,
)
from .images import solid_jpeg, solid_webp
from .validation import is_uuid4, parse_http_date, validate_media_query, validate_metadata_search

SERVER_VERSION = {"major": 2, "minor": 7, "patch": 4}
FAULT_MODES = (None, "down", "slow", "500", "invalid_json", "cut", "redirect")
CACHE_CONTROL = "private, max-age=86400, no-transform"
IO_TIMEOUT = 60.0  # socket timeout while a request is being read or answered

# Filters the indexed fast path understands; anything else is evaluated per asset.
_FAST_KEYS = frozenset(
    {
        "takenAfter",
        "takenBefore",
        "type",
        "withDeleted",
        "withExif",
        "page",
        "size",
        "order",
        "withPeople",
        "withStacked",
        "isNotInAlbum",
    }
)


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: object | None
    body: bytes = b""
    status: int | None = None
    at: float = field(default_factory=time.time)


def _express_etag(body: bytes) -> str:
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def _content_disposition(file_name: str) -> str:
    # encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) unescaped.
    return "inline; filename*=UTF-8''" + quote(file_name, safe="-_.!~*'()")


def _node_ext(name: str) -> str:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


def _node_stem(name: str) -> str:
    base = name.rstrip("/").rsplit("/", 1)[-1]
    ext = _node_ext(name)
    return base[: -len(ext)] if ext and base != ext else base


def _error_op(op: str) -> str:
    return "Failed to " + re.sub(r"[A-Z]+", lambda m: " " + m.group(0).lower(), op)


def _http_date(ms: int) -> str:
    return formatdate(ms / 1000, usegmt=True)


def _parse_http_date(value: str | None) -> float | None:
    dt = parse_http_date(value) if value else None
    return None if dt is None else dt.timestamp()


def _token_list(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def _etag_matches(tokens: list[str], etag: str) -> bool:
    return any(t == etag or t == "W/" + etag or "W/" + t == etag for t in tokens)


def _js_parse_int(s: str) -> int | None:
    m = re.match(r"\s*([+-]?\d+)", s)
    return int(m.group(1)) if m else None


def _parse_range(size: int, header: str) -> int | list[tuple[int, int]]:
    """The range-parser package with combine: -2 malformed, -1 unsatisfiable, else ranges."""
    eq = header.find("=")
    if eq == -1:
        return -2
    ranges: list[tuple[int, int, int]] = []
    for i, part in enumerate(header[eq + 1 :].split(",")):
        bits = part.split("-")
        start = _js_parse_int(bits[0])
        end = _js_parse_int(bits[1]) if len(bits) > 1 else None
        if start is None:
            if end is None:
                continue
            start, end = size - end, size - 1
        elif end is None:
            end = size - 1
        if end > size - 1:
            end = size - 1
        if start > end or start < 0:
            continue
        ranges.append((start, end, i))
    if not ranges:
        return -1
    ordered = sorted(ranges)
    merged = [list(ordered[0])]
    for start, end, i in ordered[1:]:
        cur = merged[-1]
        if start > cur[1] + 1:
            merged.append([start, end, i])
        elif end > cur[1]:
            cur[1] = end
            cur[2] = min(cur[2], i)
    merged.sort(key=lambda r: r[2])
    return [(s, e) for s, e, _ in merged]


_SORT_KEY = operator.attrgetter("sort_ms", "id")


class _UserIndex:
    """A user's assets sorted by (fileCreatedAt, id), with per-filter views built on demand."""

    def __init__(self) -> None:
        self.sorted: list[FakeAsset] = []
        self.views: dict[tuple[str | None, bool], tuple[list[int], list[FakeAsset]]] = {}
        self.usage = 0

    def add(self, assets: list[FakeAsset]) -> None:
        self.sorted.extend(assets)
        self.sorted.sort(key=_SORT_KEY)
        self.views.clear()
        self.usage += sum(a.size for a in assets)

    def view(self, kind: str | None, with_deleted: bool) -> tuple[list[int], list[FakeAsset]]:
        key = (kind, with_deleted)
        found = self.views.get(key)
        if found is None:
            assets = [a for a in self.sorted if (kind is None or a.type == kind) and (with_deleted or not a.is_trashed)]
            found = ([a.sort_ms for a in assets], assets)
            self.views[key] = found
        return found


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler, fake: FakeImmich) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        fake = self.fake
        t = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"fake-immich-conn-{client_address[1]}",
            daemon=True,
        )
        with fake._conn_lock:
            fake._conns[request] = t
        t.start()

    def _serve_connection(self, request, client_address):
        try:
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - a broken client must not disturb the tests
                pass
            finally:
                try:
                    self.shutdown_request(request)
                except OSError:
                    pass
        finally:
            with self.fake._conn_lock:
                self.fake._conns.pop(request, None)

    def handle_error(self, request, client_address):
        pass


class _Ctx:
    __slots__ = (
        "method",
        "path",
        "raw",
        "query",
        "pairs",
        "headers",
        "body",
        "json",
        "json_error",
        "rec",
        "head",
        "op",
        "params",
    )

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.op = ""


_Route = tuple[str, re.Pattern[str], str, str | None, str]  # method, path, op, permission, fn

_ROUTES: tuple[_Route, ...] = (
    ("GET", re.compile(r"^/api/server/version/?$", re.I), "getServerVersion", None, "_r_version"),
    ("GET", re.compile(r"^/api/server/ping/?$", re.I), "pingServer", None, "_r_ping"),
    ("GET", re.compile(r"^/api/users/me/?$", re.I), "getMyUser", "user.read", "_r_users_me"),
    ("POST", re.compile(r"^/api/search/metadata/?$", re.I), "searchAssets", "asset.read", "_r_search"),
    ("GET", re.compile(r"^/api/assets/(?P<id>[^/]+)/thumbnail/?$", re.I), "viewAsset", "asset.view", "_r_thumbnail"),
    (
        "GET",
        re.compile(r"^/api/assets/(?P<id>[^/]+)/original/?$", re.I),
        "downloadAsset",
        "asset.download",
        "_r_original",
    ),
    ("GET", re.compile(r"^/api/assets/(?P<id>[^/]+)/?$", re.I), "getAssetInfo", "asset.read", "_r_asset_info"),
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # ---- connection plumbing --------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Node does
        self.connection.settimeout(self.server.fake.keep_alive_timeout or None)

    def handle_one_request(self) -> None:
        try:
            # Node closes a keep-alive connection that stays idle for 5 seconds.
            self.connection.settimeout(self.server.fake.keep_alive_timeout or None)
            super().handle_one_request()
        except OSError:
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        try:
            self.connection.settimeout(IO_TIMEOUT)
            ctx = _Ctx()
            ctx.method = method
            ctx.head = method == "HEAD"
            split = urlsplit(self.path)
            ctx.raw = self.path
            ctx.path = unquote(split.path)
            ctx.pairs = parse_qsl(split.query, keep_blank_values=True)
            ctx.query = {}
            for k, v in ctx.pairs:
                ctx.query.setdefault(k, v)
            headers: dict[str, str] = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = f"{headers[k]}, {v}" if k in headers else v
            ctx.headers = headers
            try:
                ctx.body = self._read_body()
            except ValueError:  # unparsable Content-Length or chunk size
                self.close_connection = True
                self.send_error(400, "Bad Request")
                return
            ctx.json = None
            ctx.json_error = None
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media == "application/json" and method not in ("GET", "HEAD"):
                text = ctx.body.decode("utf-8", "replace")
                if text.strip():
                    try:
                        ctx.json = json.loads(text)
                        if not isinstance(ctx.json, dict | list):
                            ctx.json_error = f"Unexpected token in JSON at position 0: {text[:20]!r}"
                    except json.JSONDecodeError as e:
                        ctx.json_error = f"{e.msg} in JSON at position {e.pos}"
                else:
                    ctx.json = {}
            ctx.rec = RecordedRequest(
                method=method,
                path=ctx.path,
                query=dict(ctx.query),
                headers=dict(headers),
                json=ctx.json,
                body=ctx.body,
            )
            fake._record(ctx.rec)

            delay = fake.latency or 0.0
            if fake.fault == "slow":
                delay += fake.slow_seconds
            if delay > 0:
                fake._sleep(delay)
            self._route(ctx)
        except OSError:
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - report as a 500, keep serving
            fake.errors.append(exc)
            self.close_connection = True
            try:
                self.send_response_only(500)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
            except OSError:
                pass

    # ---- responses --------------------------------------------------------------------------

    def _start(self, ctx: _Ctx, status: int, headers: Iterable[tuple[str, str]]) -> None:
        ctx.rec.status = status
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "keep-alive")
            timeout = self.server.fake.keep_alive_timeout
            if timeout:
                self.send_header("Keep-Alive", f"timeout={int(timeout)}")
        self.end_headers()

    def _send(self, ctx: _Ctx, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if status not in (204, 304):
            headers = [*headers, ("Content-Length", str(len(body)))]
        self._start(ctx, status, headers)
        if body and not ctx.head and status not in (204, 304):
            self.wfile.write(body)

    def _json(self, ctx: _Ctx, status: int, obj: object) -> None:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._json_bytes(ctx, status, body)

    def _json_bytes(self, ctx: _Ctx, status: int, body: bytes) -> None:
        if status == 200 and self.server.fake.fault == "invalid_json":
            body = body[: max(1, len(body) // 2)]
        etag = _express_etag(body)
        headers = [("Content-Type", "application/json; charset=utf-8"), ("ETag", etag)]
        if status == 200 and ctx.method in ("GET", "HEAD") and self._fresh(ctx, etag, None):
            self._send(ctx, 304, [("ETag", etag)], b"")
            return
        self._send(ctx, status, headers, body)

    def _error(
        self,
        ctx: _Ctx,
        status: int,
        message: object,
        error: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        body: dict = {"message": message}
        if error:
            body["error"] = error
        body["statusCode"] = status
        body["correlationId"] = self.server.fake._correlation_id()
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = [("Content-Type", "application/json; charset=utf-8"), *(extra or [])]
        self._send(ctx, status, headers, raw)

    def _bad_request(self, ctx: _Ctx, message: object) -> None:
        self._error(ctx, 400, message, "Bad Request")

    def _redirect(self, ctx: _Ctx, location: str) -> None:
        body = f"Found. Redirecting to {location}".encode()
        headers = [
            ("Location", quote(location, safe="!#$&'()*+,/:;=?@[]~%")),
            ("Vary", "Accept"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        self._send(ctx, 302, headers, body)

    # ---- routing ----------------------------------------------------------------------------

    def _route(self, ctx: _Ctx) -> None:
        fake = self.server.fake
        if fake.fault == "redirect":
            target = fake.redirect_to or f"http://{fake.host}:{fake.port}{ctx.raw}"
            self._redirect(ctx, target)
            return
        route = None
        for method, pattern, op, permission, fn in _ROUTES:
            m = pattern.match(ctx.path)
            if m and (method == ctx.method or (method == "GET" and ctx.head)):
                route = (op, permission, fn)
                ctx.params = m.groupdict()
                break
        if fake.fault == "500":
            op = route[0] if route else ""
            if op:
                self._error(ctx, 500, _error_op(op), "Internal Server Error")
            else:
                self._error(ctx, 500, "Internal server error")
            return
        if route is None:
            self._error(ctx, 404, f"Cannot {ctx.method} {ctx.raw}", "Not Found")
            return
        op, permission, fn = route
        ctx.op = op
        # The JSON body parser runs before the guards: a broken body is a 400 even without a key.
        if ctx.json_error is not None:
            self._bad_request(ctx, ctx.json_error)
            return
        key = None
        if permission is not None:
            key = self._authenticate(ctx, permission)
            if key is None:
                return
        getattr(self, fn)(ctx, key)

    def _authenticate(self, ctx: _Ctx, permission: str) -> ApiKey | None:
        h, q = ctx.headers, ctx.query
        share_key = h.get("x-immich-share-key") or q.get("key")
        share_slug = h.get("x-immich-share-slug") or q.get("slug")
        bearer = None
        auth_type, _, token = (h.get("authorization") or "").partition(" ")
        if auth_type.lower() == "bearer":
            bearer = token.split(" ", 1)[0]
        cookie_token = None
        for part in (h.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "immich_access_token" and value:
                cookie_token = unquote(value)
                break
        session = (
            h.get("x-immich-user-token")
            or h.get("x-immich-session-token")
            or q.get("sessionKey")
            or bearer
            or cookie_token
        )
        api_key = h.get("x-api-key") or q.get("apiKey")
        if share_key:
            self._error(ctx, 401, "Invalid share key", "Unauthorized")
            return None
        if share_slug:
            self._error(ctx, 401, "Invalid share slug", "Unauthorized")
            return None
        if session:
            self._error(ctx, 401, "Invalid user token", "Unauthorized")
            return None
        if not api_key:
            self._error(ctx, 401, "Authentication required", "Unauthorized")
            return None
        key = API_KEYS.get(api_key)
        if key is None:
            self._error(ctx, 401, "Invalid API key", "Unauthorized")
            return None
        if not key.grants(permission):
            self._error(ctx, 403, f"Missing required permission: {permission}", "Forbidden")
            return None
        return key

    def _asset_param(self, ctx: _Ctx) -> str | None:
        asset_id = ctx.params.get("id", "")
        if not is_uuid4(asset_id):
            self._bad_request(ctx, ["id must be a UUID"])
            return None
        return asset_id

    def _owned(self, ctx: _Ctx, key: ApiKey, asset_id: str, permission: str) -> FakeAsset | None:
        asset = self.server.fake._assets.get(asset_id)
        if asset is None or asset.owner_key_user != key.user:
            self._bad_request(ctx, f"Not found or no {permission} access")
            return None
        return asset

    # ---- endpoints --------------------------------------------------------------------------

    def _r_version(self, ctx: _Ctx, key: None) -> None:
        self._json(ctx, 200, SERVER_VERSION)

    def _r_ping(self, ctx: _Ctx, key: None) -> None:
        self._json(ctx, 200, {"res": "pong"})

    def _r_users_me(self, ctx: _Ctx, key: ApiKey) -> None:
        user = dict(USERS[key.user])
        user["quotaUsageInBytes"] = self.server.fake._usage(key.user)
        self._json(ctx, 200, user)

    def _r_search(self, ctx: _Ctx, key: ApiKey) -> None:
        body = ctx.json if ctx.json is not None else {}
        if not isinstance(body, dict):
            self._bad_request(ctx, ["an unknown value was passed to the validate function"])
            return
        dto, errors = validate_metadata_search(body)
        if errors:
            self._bad_request(ctx, errors)
            return
        items, next_page = self.server.fake._search(key.user, dto)
        with_exif = bool(dto.get("withExif"))
        # Built as text: pages of 1000 assets are the hot path of benchmarks.
        body = (
            '{"albums":{"total":0,"count":0,"items":[],"facets":[]},"assets":{'
            f'"total":{len(items)},"count":{len(items)},"items":['
            + ",".join(self.server.fake._asset_text(a, with_exif) for a in items)
            + '],"facets":[],"nextPage":'
            + ("null" if next_page is None else f'"{next_page}"')
            + "}}"
        ).encode("utf-8")
        self._json_bytes(ctx, 200, body)

    def _r_asset_info(self, ctx: _Ctx, key: ApiKey) -> None:
        asset_id = self._asset_param(ctx)
        if asset_id is None:
            return
        asset = self._owned(ctx, key, asset_id, "asset.read")
        if asset is None:
            return
        self._json(ctx, 200, asset_json(asset, with_exif=True, detail=True))

    def _r_thumbnail(self, ctx: _Ctx, key: ApiKey) -> None:
        asset_id = self._asset_param(ctx)
        if asset_id is None:
            return
        dto, errors = validate_media_query(ctx.query, with_size=True)
        if errors:
            self._bad_request(ctx, errors)
            return
        size = dto.get("size") or "thumbnail"
        if size == "original":
            # Deprecated: answered before the access check, with a relative Location.
            self._redirect(ctx, "original?" + urlencode([p for p in ctx.pairs if p[0] != "size"]))
            return
        asset = self._owned(ctx, key, asset_id, "asset.view")
        if asset is None:
            return
        if size == "fullsize":
            if asset.mime_type in WEB_IMAGE_MIMES:
                rest = [p for p in ctx.pairs if p[0] != "size"]
                self._redirect(ctx, "original?" + urlencode(rest))
            else:
                # No full-size rendition (not generated by default): downgrade to the preview.
                pairs = [p for p in ctx.pairs if p[0] != "size"] + [("size", "preview")]
                path = urlsplit(ctx.raw).path
                self._redirect(ctx, path + "?" + urlencode(pairs))
            return
        landscape = asset.width >= asset.height
        if size == "preview":
            content = solid_jpeg(160, 120, asset.rgb) if landscape else solid_jpeg(120, 160, asset.rgb)
            ext, ctype, bump = ".jpeg", "image/jpeg", 7_000
        else:
            content = solid_webp(48, 36, asset.rgb) if landscape else solid_webp(36, 48, asset.rgb)
            ext, ctype, bump = ".webp", "image/webp", 5_000
        mtime = asset.created_ms + bump + int(asset.id[-3:], 16) % 997
        self._send_file(
            ctx,
            size=len(content),
            mtime_ms=mtime,
            content_type=ctype,
            file_name=f"{_node_stem(asset.original_file_name)}_{size}{ext}",
            reader=lambda s, e: iter((content[s : e + 1],)),
            cut=False,
        )

    def _r_original(self, ctx: _Ctx, key: ApiKey) -> None:
        asset_id = self._asset_param(ctx)
        if asset_id is None:
            return
        _dto, errors = validate_media_query(ctx.query, with_size=False)
        if errors:
            self._bad_request(ctx, errors)
            return
        asset = self._owned(ctx, key, asset_id, "asset.download")
        if asset is None:
            return
        ctype = MIME_BY_EXT.get(_node_ext(asset.original_path).lower(), "application/octet-stream")
        self._send_file(
            ctx,
            size=asset.size,
            mtime_ms=asset.sort_ms,  # the file's mtime is set to fileModifiedAt on upload
            content_type=ctype,
            file_name=asset.original_file_name,
            reader=lambda s, e: iter_original(asset, s, e),
            cut=self.server.fake.fault == "cut",
        )

    # ---- Express-style static file sending --------------------------------------------------

    def _fresh(self, ctx: _Ctx, etag: str, last_modified: str | None) -> bool:
        h = ctx.headers
        modified_since = h.get("if-modified-since")
        none_match = h.get("if-none-match")
        if not modified_since and not none_match:
            return False
        if re.search(r"(?:^|,)\s*?no-cache\s*?(?:,|$)", h.get("cache-control", "")):
            return False
        if none_match and none_match != "*":
            if not _etag_matches(_token_list(none_match), etag):
                return False
        if modified_since:
            lm = _parse_http_date(last_modified)
            ms = _parse_http_date(modified_since)
            if lm is None or ms is None or not lm <= ms:
                return False
        return True

    def _send_file(
        self,
        ctx: _Ctx,
        *,
        size: int,
        mtime_ms: int,
        content_type: str,
        file_name: str,
        reader: Callable[[int, int], Iterator[bytes]],
        cut: bool,
    ) -> None:
        etag = f'W/"{size:x}-{mtime_ms:x}"'
        last_modified = _http_date(mtime_ms)
        base = [
            ("Cache-Control", CACHE_CONTROL),
            ("Content-Type", content_type),
            ("Content-Disposition", _content_disposition(file_name)),
            ("Accept-Ranges", "bytes"),
            ("Last-Modified", last_modified),
            ("ETag", etag),
        ]
        h = ctx.headers
        # Preconditions (If-Match / If-Unmodified-Since) -> 412.
        if_match = h.get("if-match")
        failed = False
        if if_match:
            failed = if_match != "*" and not _etag_matches(_token_list(if_match), etag)
        else:
            unmodified = _parse_http_date(h.get("if-unmodified-since"))
            failed = unmodified is not None and mtime_ms / 1000 > unmodified
        if failed:
            self._file_error(ctx, 412, "Precondition Failed", base)
            return
        if self._fresh(ctx, etag, last_modified):
            kept = [(k, v) for k, v in base if not k.lower().startswith("content-")]
            self._send(ctx, 304, kept, b"")
            return
        status, start, end = 200, 0, size - 1
        headers = list(base)
        range_header = h.get("range")
        if range_header and re.match(r"^ *bytes=", range_header):
            if_range = h.get("if-range")
            range_fresh = True
            if if_range:
                if '"' in if_range:
                    range_fresh = etag in if_range
                else:
                    lm = _parse_http_date(last_modified)
                    ir = _parse_http_date(if_range)
                    range_fresh = lm is not None and ir is not None and lm <= ir
            ranges = _parse_range(size, range_header) if range_fresh else -2
            if ranges == -1:
                self._file_error(ctx, 416, "Range Not Satisfiable", base, [("Content-Range", f"bytes */{size}")])
                return
            if isinstance(ranges, list) and len(ranges) == 1:
                status = 206
                start, end = ranges[0]
                headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        length = max(0, end - start + 1)
        headers.append(("Content-Length", str(length)))
        if cut and not ctx.head:
            self.close_connection = True
        self._start(ctx, status, headers)
        if ctx.head or length == 0:
            return
        limit = length // 2 if cut else length
        sent = 0
        for chunk in reader(start, end):
            if sent + len(chunk) > limit:
                chunk = chunk[: limit - sent]
            if chunk:
                self.wfile.write(chunk)
                sent += len(chunk)
            if sent >= limit:
                break
        if cut:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _file_error(self, ctx: _Ctx, status: int, message: str, base, extra=None) -> None:
        # The file sender's error reaches Nest as an HttpException built from a bare message.
        keep = [(k, v) for k, v in base if k in ("Accept-Ranges", "Last-Modified", "ETag")]
        self._error(ctx, status, message, None, [*keep, ("Cache-Control", "none"), *(extra or [])])


class FakeImmich:
    """A fake Immich server on 127.0.0.1. ``FakeImmich(latency=0.0).start()``, ``.stop()``."""

    def __init__(
        self,
        latency: float = 0.0,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        slow_seconds: float = 5.0,
        keep_alive_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port: int | None = port or None
        self._requested_port = port
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.keep_alive_timeout = keep_alive_timeout
        self.redirect_to: str | None = None  # fault "redirect": None -> the request's own URL
        self.fault: str | None = None
        self.errors: list[BaseException] = []  # unexpected exceptions inside the fake
        self._lock = threading.RLock()
        self._asset_texts: dict[tuple[str, bool], str] = {}
        self._req_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._assets: dict[str, FakeAsset] = {}
        self._index: dict[str, _UserIndex] = {u: _UserIndex() for u in USERS}
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._interrupt = threading.Event()
        self._cid = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        alice, self.special = data.build_alice()
        bob, self.bob_special = data.build_bob()
        self._add(alice)
        self._add(bob)

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeImmich:
        if self._started:
            raise RuntimeError("FakeImmich already started")
        self._started = True
        if self.fault != "down":
            self._bind()
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._unbind()

    def __enter__(self) -> FakeImmich:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _bind(self) -> None:
        port = self.port or self._requested_port
        server = _Server((self.host, port), _Handler, self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-immich-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def _unbind(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)
        self._interrupt.set()
        with self._conn_lock:
            conns = list(self._conns.items())
        for sock, _t in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for _sock, t in conns:
            t.join(max(0.0, deadline - time.monotonic()))
        self._interrupt = threading.Event()

    def set_fault(self, mode: str | None) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {FAULT_MODES}")
        previous = self.fault
        self.fault = mode
        if not self._started:
            return
        if mode == "down" and previous != "down":
            self._unbind()
        elif previous == "down" and mode != "down":
            self._bind()

    def _sleep(self, seconds: float) -> None:
        self._interrupt.wait(seconds)

    # ---- observation ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._req_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._req_lock:
            self._requests.clear()

    def _record(self, rec: RecordedRequest) -> None:
        with self._req_lock:
            self._requests.append(rec)

    @property
    def open_connections(self) -> int:
        with self._conn_lock:
            return len(self._conns)

    def _asset_text(self, asset: FakeAsset, with_exif: bool) -> str:
        """An asset's JSON, built once: assets never change, and a server as fast as a real
        one keeps the fake's own CPU out of what the benchmarks measure."""
        key = (asset.id, with_exif)
        text = self._asset_texts.get(key)
        if text is None:
            text = self._asset_texts[key] = asset_json_text(asset, with_exif=with_exif)
        return text

    def wait_open_connections(self, expected: int = 0, timeout: float = 2.0) -> int:
        """Poll until ``open_connections == expected`` (or the timeout); return the last count."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.open_connections
            if count == expected or time.monotonic() >= deadline:
                return count
            time.sleep(0.01)

    def _correlation_id(self) -> str:
        n = next(self._cid)
        digest = hashlib.blake2b(f"{id(self)}:{n}".encode(), digest_size=8).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        value = int.from_bytes(digest, "big")
        out = []
        for _ in range(8):
            value, r = divmod(value, 36)
            out.append(alphabet[r])
        return "".join(out)

    # ---- data -------------------------------------------------------------------------------

    @property
    def assets(self) -> list[FakeAsset]:
        with self._lock:
            return list(self._assets.values())

    def asset(self, asset_id: str) -> FakeAsset:
        return self._assets[asset_id]

    def assets_of(self, user_or_key: str) -> list[FakeAsset]:
        user = self._user(user_or_key)
        with self._lock:
            return [a for a in self._assets.values() if a.owner_key_user == user]

    def _add(self, assets: list[FakeAsset]) -> None:
        with self._lock:
            by_user: dict[str, list[FakeAsset]] = {}
            for a in assets:
                if a.id in self._assets:
                    raise ValueError(f"duplicate asset id {a.id}")
                self._assets[a.id] = a
                by_user.setdefault(a.owner_key_user, []).append(a)
            for user, items in by_user.items():
                self._index[user].add(items)

    def _usage(self, user: str) -> int:
        with self._lock:
            return self._index[user].usage

    @staticmethod
    def _user(user_or_key: str) -> str:
        if user_or_key in USERS:
            return user_or_key
        key = API_KEYS.get(user_or_key)
        if key is None:
            raise KeyError(f"unknown API key or user {user_or_key!r}")
        return key.user

    @staticmethod
    def _ms(value: datetime | str | int | None) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return ms_of(value)

    def add_bulk_assets(
        self,
        key: str,
        n: int,
        *,
        start: datetime | str,
        end: datetime | str,
        center: tuple[float, float] = (48.8566, 2.3522),
        spread_km: float = 25.0,
        seed: object = 0,
    ) -> list[str]:
        """Add n IMAGE assets (GPS within spread_km of center, taken in [start, end])."""
        user = self._user(key)
        lo, hi = self._ms(start), self._ms(end)
        if lo is None or hi is None or lo > hi:
            raise ValueError("start must be before end")
        with self._lock:
            existing = len(self._index[user].sorted)
            made = data.bulk_assets(
                user,
                n,
                start=data.dt_of(lo),
                end=data.dt_of(hi),
                center=center,
                spread_km=spread_km,
                seed=f"{seed}/{existing}",
            )
            self._add(made)
        return [a.id for a in made]

    def add_large_original(
        self,
        key: str,
        size: int,
        *,
        taken: datetime | str = "2000-01-01T12:00:00Z",
        name: str = "LARGE_ORIGINAL.jpg",
    ) -> str:
        """Add one JPEG IMAGE asset whose original is `size` bytes (generated on the fly, never
        held in memory); returns its id. Taken outside the usual windows unless `taken` says."""
        user = self._user(key)
        if size <= 0:
            raise ValueError("size must be positive")
        when = data.dt_of(self._ms(taken))
        with self._lock:
            serial = len(self._index[user].sorted)
            digest = hashlib.sha256(f"large/{user}/{size}/{serial}".encode()).hexdigest()
            asset_id = str(uuid.UUID(hex=digest[:32], version=4))
            ms = ms_of(when)
            asset = FakeAsset(
                id=asset_id,
                owner_key_user=user,
                owner_id=USERS[user]["id"],
                type="IMAGE",
                original_file_name=name,
                mime_type="image/jpeg",
                taken_at=when,
                file_created_at=when,
                latitude=None,
                longitude=None,
                city=None,
                country=None,
                is_trashed=False,
                size=size,
                created_ms=ms + 3_600_000,
                sort_ms=ms,
                color=data.color_of(asset_id),
            )
            self._add([asset])
        return asset_id

    def expected_search(
        self,
        key: str,
        start: datetime | str | None,
        end: datetime | str | None,
        *,
        lat: float | None = None,
        lon: float | None = None,
        radius_m: float | None = None,
    ) -> list[str]:
        """Ids a time-window search should return: the key's user's IMAGE, non-trashed assets
        with start <= taken <= end (and within radius_m of lat/lon when given), ascending by
        taken time then id."""
        user = self._user(key)
        geo = (lat, lon, radius_m)
        if any(v is not None for v in geo) and not all(v is not None for v in geo):
            raise ValueError("lat, lon and radius_m go together")
        lo, hi = self._ms(start), self._ms(end)
        with self._lock:
            keys, assets = self._index[user].view("IMAGE", False)
            i = bisect.bisect_left(keys, lo) if lo is not None else 0
            j = bisect.bisect_right(keys, hi) if hi is not None else len(keys)
            chosen = assets[i:j]
        if radius_m is not None:
            chosen = [a for a in chosen if a.has_gps and haversine_m(lat, lon, a.latitude, a.longitude) <= radius_m]
        return [a.id for a in chosen]

    def original_bytes(self, asset_id: str, start: int = 0, end: int | None = None) -> bytes:
        """The original's bytes start..end (inclusive, like an HTTP range)."""
        asset = self.asset(asset_id)
        last = asset.size - 1 if end is None else min(end, asset.size - 1)
        if start > last:
            return b""
        return b"".join(iter_original(asset, start, last))

    # ---- search -----------------------------------------------------------------------------

    def _search(self, user: str, dto: dict) -> tuple[list[FakeAsset], str | None]:
        size = dto.get("size") or 250
        page = dto.get("page") or 1
        desc = dto.get("order", "desc") == "desc"
        lo, hi = dto.get("takenAfter"), dto.get("takenBefore")
        offset = (page - 1) * size
        extra = _filters(dto) if set(dto) - _FAST_KEYS else []
        with self._lock:
            keys, assets = self._index[user].view(dto.get("type"), bool(dto.get("withDeleted")))
            i = bisect.bisect_left(keys, lo) if lo is not None else 0
            j = bisect.bisect_right(keys, hi) if hi is not None else len(keys)
            if extra:
                pool = [a for a in assets[i:j] if all(f(a) for f in extra)]
                i, j, assets = 0, len(pool), pool
        total = max(0, j - i)
        if desc:
            stop = j - offset
            items = assets[max(i, stop - size) : stop][::-1] if stop > i else []
        else:
            first = i + offset
            items = assets[first : min(j, first + size)] if first < j else []
        next_page = str(page + 1) if offset + size < total else None
        return items, next_page


def _filters(dto: dict) -> list[Callable[[FakeAsset], bool]]:
    out: list[Callable[[FakeAsset], bool]] = []
    none: Callable[[FakeAsset], bool] = lambda a: False  # noqa: E731
    if "id" in dto:
        wanted_id = dto["id"].lower()
        out.append(lambda a: a.id == wanted_id)
    if "deviceId" in dto:
        out.append(lambda a, v=dto["deviceId"]: v == "fake-phone-7c1e")
    if "deviceAssetId" in dto:
        out.append(lambda a, v=dto["deviceAssetId"]: f"{a.original_file_name}-{a.size}" == v)
    if "checksum" in dto:

        def by_checksum(a: FakeAsset, v=dto["checksum"]) -> bool:
            raw = base64.b64decode(a.checksum)
            return v in (a.checksum, raw.hex())

        out.append(by_checksum)
    for name in ("originalFileName", "originalPath"):
        if dto.get(name):
            attr = "original_file_name" if name == "originalFileName" else "original_path"
            needle = dto[name].casefold()
            out.append(lambda a, v=needle, at=attr: v in getattr(a, at).casefold())
    if (
        dto.get("description")
        or dto.get("ocr")
        or dto.get("previewPath")
        or dto.get("thumbnailPath")
        or dto.get("encodedVideoPath")
    ):
        out.append(none)
    for name, attr in (
        ("city", "city"),
        ("state", "state"),
        ("country", "country"),
        ("make", "make"),
        ("model", "model"),
    ):
        if name in dto:
            out.append(lambda a, v=dto[name], at=attr: getattr(a, at) == v)
    if "lensModel" in dto and dto["lensModel"] is not None:
        out.append(none)
    if "isFavorite" in dto:
        out.append(lambda a, v=dto["isFavorite"]: a.is_favorite == v)
    if dto.get("isOffline") or dto.get("isMotion"):
        out.append(none)
    if "isEncoded" in dto:
        out.append(lambda a, v=dto["isEncoded"]: (a.type == "VIDEO") == v)
    if "visibility" in dto:
        out.append(lambda a, v=dto["visibility"]: a.visibility == v)
    for name, getter, cmp in (
        ("createdAfter", lambda a: a.created_ms, lambda x, v: x >= v),
        ("createdBefore", lambda a: a.created_ms, lambda x, v: x <= v),
        ("updatedAfter", lambda a: a.created_ms + 3_600_000, lambda x, v: x >= v),
        ("updatedBefore", lambda a: a.created_ms + 3_600_000, lambda x, v: x <= v),
        ("trashedAfter", lambda a: a.deleted_ms, lambda x, v: x >= v),
        ("trashedBefore", lambda a: a.deleted_ms, lambda x, v: x <= v),
    ):
        if name in dto:
            out.append(lambda a, v=dto[name], g=getter, c=cmp: (x := g(a)) is not None and c(x, v))
    if dto.get("libraryId"):
        out.append(none)
    for name in ("personIds", "albumIds"):
        if dto.get(name):
            out.append(none)
    if dto.get("tagIds"):
        out.append(none)
    if "rating" in dto and dto["rating"] is not None and dto["rating"] != -1:
        out.append(none)
    return out
