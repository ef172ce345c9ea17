"""The only code that speaks HTTP to Immich: one method per upstream call, named errors."""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool, PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util import connection as urllib3_connection

from service.errors import AppError
from service.immich.url_policy import Resolver, UrlPolicy, UrlRefused

log = logging.getLogger(__name__)
# urllib3's debug lines name the Immich server's address and paths: never log them.
logging.getLogger("urllib3").setLevel(logging.WARNING)

MAX_JSON_BYTES = 256 * 1024 * 1024
E = TypeVar("E", bound=BaseException)
MEDIA_CHUNK = 64 * 1024
MEDIA_HEADERS = {"User-Agent": "photo-atlas", "Accept": "*/*", "Accept-Encoding": "identity"}
_R = TypeVar("_R")


class ImmichError(AppError):
    """Base of every upstream failure: a 502 for our client; `message` is safe to show."""

    status = 502
    message = "Immich could not be reached"


class ImmichAuthError(ImmichError):
    """Immich refused the key. Still a 502, never a 401: a 401 would sign our user out."""

    message = "Immich rejected the API key"


class ImmichPermissionError(ImmichAuthError):
    """The key is valid but lacks a permission (Immich 403)."""

    def __init__(self, permission: str | None) -> None:
        self.permission = permission
        wanted = f" ({permission})" if permission else ""
        super().__init__(f"The Immich API key lacks a permission Photo Atlas needs{wanted}")


class ImmichNotFound(ImmichError):
    """Missing, or not visible to this key (Immich says 400 "Not found or no ... access")."""

    status = 404
    message = "Photo not found"


class ImmichUnavailable(ImmichError):
    """Immich failed, answered with something unusable, or could not be reached."""


class ImmichAddressRefused(ImmichUnavailable):
    """The server's name did not resolve, or resolved to an address the policy refuses; the
    message is the policy's, in words for the user."""

    message = "This server's address is not allowed here; ask the operator of Photo Atlas to allow it"


class ImmichTimeout(ImmichError):
    status = 504
    message = "Immich did not answer in time"


class ImmichCircuitOpen(ImmichError):
    """Recent calls to this server failed; calls fail fast until it has had time to recover."""

    status = 503
    message = "Immich is failing; Photo Atlas will try it again shortly"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class UpstreamLimits:
    """How long a call to Immich may take, and when its circuit breaker opens."""

    connect: float = 5.0
    read: float = 30.0
    deadline: float = 120.0  # a whole JSON call, body included
    search_pages: int = 1000  # pages one search reads at most (a million photos)
    search_deadline: float = 180.0  # a whole search, every page included
    breaker_failures: int = 5
    breaker_seconds: float = 30.0


class CircuitBreaker:
    """Opens after `threshold` failures in a row; after `cooldown` seconds one trial call
    goes through, and its success closes the circuit again."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    def before_call(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            waited = time.monotonic() - self._opened_at
            if waited < self.cooldown or self._trial_running:
                raise ImmichCircuitOpen(max(1, int(self.cooldown - waited + 0.999)))
            self._trial_running = True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._failures >= self.threshold or self._opened_at is not None:
                self._opened_at = time.monotonic()


@dataclass(frozen=True)
class SearchPage:
    items: list[dict[str, Any]]
    next_page: int | None


def search_query(*, page: int, size: int, taken_after: str | None = None, taken_before: str | None = None,
                 asset_type: str | None = "IMAGE", with_exif: bool = True, order: str = "asc",
                 updated_after: str | None = None, with_deleted: bool | None = None) -> dict[str, Any]:
    """The body of one POST /search/metadata. Null fields are left out, never sent."""
    query = {
        "takenAfter": taken_after,
        "takenBefore": taken_before,
        "updatedAfter": updated_after,
        "withDeleted": with_deleted,
        "type": asset_type,
        "withExif": with_exif,
        "order": order,
        "page": page,
        "size": size,
    }
    return {key: value for key, value in query.items() if value is not None}


class UpstreamMedia:
    """An open upstream response whose body is streamed, never read whole."""

    def __init__(self, response: BaseHTTPResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._response.stream(MEDIA_CHUNK, decode_content=False)
        except (ProtocolError, ReadTimeoutError, OSError) as exc:
            log.warning("immich media stream cut", extra={"outcome": type(exc).__name__})
            # The response already promised its length: end it as a dropped connection, so
            # the browser reports a failed download instead of saving a short file.
            raise ConnectionResetError(errno.ECONNRESET, "Immich stopped sending the file") from None
        finally:
            self.close()

    def close(self) -> None:
        response = self._response
        left = response.length_remaining
        if left is not None and left <= MEDIA_CHUNK:
            response.drain_conn()  # a 304 or an error's short body: the connection stays pooled
        elif not response.closed:
            response.close()  # an unfinished stream: never read the rest of a large file
        response.release_conn()


# ---------------------------------------------------------------- connections pinned to
# the checked address: DNS is resolved here, every address is checked against the policy,
# and the socket goes to a checked address, so an answer that changes after the check
# cannot redirect us. TLS still verifies the host name (urllib3 uses self.host for SNI).


class AddressRefusedError(NewConnectionError):
    def __init__(self, conn: Any, reason: str) -> None:
        super().__init__(conn, reason)
        self.refusal = reason


class _PinnedConnectionMixin:
    policy: UrlPolicy
    resolver: Resolver

    def _new_conn(self) -> Any:
        host: str = self._dns_host  # type: ignore[attr-defined]
        port: int = self.port  # type: ignore[attr-defined]
        addresses = self.resolver(host, port)
        try:
            self.policy.check_addresses(host, addresses)
        except UrlRefused as exc:
            raise AddressRefusedError(self, exc.message) from None
        last_error: OSError | None = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Failed to connect: {type(last_error).__name__}")  # type: ignore[arg-type]


class PinnedAdapter(HTTPAdapter):
    def __init__(self, policy: UrlPolicy, resolver: Resolver, pool_size: int) -> None:
        attrs = {"policy": policy, "resolver": staticmethod(resolver)}
        http_conn = type("PinnedHTTPConnection", (_PinnedConnectionMixin, HTTPConnection), attrs)
        https_conn = type("PinnedHTTPSConnection", (_PinnedConnectionMixin, HTTPSConnection), attrs)
        self._pool_classes = {
            "http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }
        super().__init__(pool_connections=4, pool_maxsize=pool_size, max_retries=0, pool_block=False)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kw: Any) -> None:
        self.poolmanager = PoolManager(num_pools=connections, maxsize=maxsize, block=block, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes  # type: ignore[assignment]
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


class _NoCookies(DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


def _new_session(adapter: PinnedAdapter) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy variables, no .netrc
    session.cookies.set_policy(_NoCookies())
    session.headers = requests.structures.CaseInsensitiveDict(
        {"User-Agent": "photo-atlas", "Accept": "application/json"}
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Upstreams:
    """One pooled session and one concurrency cap per Immich server, shared by threads."""

    MAX_UPSTREAMS = 256

    def __init__(self, *, policy: UrlPolicy, resolver: Resolver, limits: UpstreamLimits,
                 max_concurrency: int, pool_size: int = 32) -> None:
        self.policy = policy
        self.resolver = resolver
        self.limits = limits
        self.max_concurrency = max_concurrency
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Upstream] = OrderedDict()

    def client(self, server_url: str, api_key: str) -> ImmichClient:
        parts = urlsplit(server_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            entry = self._entries.get(origin)
            if entry is None:
                adapter = PinnedAdapter(self.policy, self.resolver, self._pool_size)
                entry = _Upstream(
                    session=_new_session(adapter),
                    media_pool=adapter.poolmanager.connection_from_url(origin),
                    slots=threading.BoundedSemaphore(self.max_concurrency),
                    breaker=CircuitBreaker(self.limits.breaker_failures, self.limits.breaker_seconds),
                )
                self._entries[origin] = entry
                if len(self._entries) > self.MAX_UPSTREAMS:
                    _, old = self._entries.popitem(last=False)
                    old.session.close()
            else:
                self._entries.move_to_end(origin)
        return ImmichClient(entry, server_url, api_key, self.limits)

    def close(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.session.close()
            self._entries.clear()


@dataclass(frozen=True)
class _Upstream:
    """What all users of one Immich server share: connections, a concurrency cap, a breaker."""

    session: requests.Session
    # The session's own pinned connection pool, which media GETs use directly: a thumbnail
    # then costs no request preparation, hooks or cookie handling.
    media_pool: HTTPConnectionPool
    slots: threading.BoundedSemaphore
    breaker: CircuitBreaker


class ImmichClient:
    """Calls to one Immich server with one user's key."""

    def __init__(self, upstream: _Upstream, server_url: str, api_key: str, limits: UpstreamLimits) -> None:
        self._session = upstream.session
        self._media_pool = upstream.media_pool
        self._slots = upstream.slots
        self._breaker = upstream.breaker
        self._base = server_url.rstrip("/") + "/api"
        self._path_base = urlsplit(self._base).path
        self._api_key = api_key
        self._limits = limits

    def __repr__(self) -> str:
        return f"<ImmichClient {self._base}>"

    # ------------------------------------------------------------------ calls

    def server_version(self) -> str:
        body = self._json("GET", "/server/version")
        try:
            return f"{int(body['major'])}.{int(body['minor'])}.{int(body['patch'])}"
        except (KeyError, TypeError, ValueError):
            raise ImmichUnavailable("Immich answered /server/version with an unexpected shape") from None

    def current_user(self) -> dict[str, Any]:
        body = self._json("GET", "/users/me")
        if not isinstance(body, dict):
            raise ImmichUnavailable("Immich answered /users/me with an unexpected shape")
        return body

    def search_metadata(self, query: dict[str, Any]) -> SearchPage:
        """One page of POST /search/metadata (its body from search_query)."""
        return self.search_page(self.search_metadata_answer(query))

    def search_metadata_answer(self, query: dict[str, Any]) -> bytes:
        """One page's answer as Immich sent it, for a caller that decodes it (search_page)
        when it chooses: a decoded page takes several times the memory of its bytes."""
        with self._slots:
            return self._read_uncapped("POST", "/search/metadata", query, None)

    def search_page(self, answer: bytes) -> SearchPage:
        """A search page's answer decoded, or ImmichUnavailable when it is not one."""
        body = self._decoded(answer)
        try:
            assets = body["assets"]
            items = assets["items"]
            next_page = assets.get("nextPage")
            if not isinstance(items, list):
                raise TypeError
            return SearchPage(items, int(next_page) if next_page not in (None, "") else None)
        except (KeyError, TypeError, ValueError):
            raise ImmichUnavailable("Immich answered the search with an unexpected shape") from None

    def time_buckets(self) -> dict[str, int]:
        """GET /timeline/buckets: the number of assets in each month, as {"YYYY-MM": count}."""
        body = self._json("GET", "/timeline/buckets")
        try:
            return {str(row["timeBucket"])[:7]: int(row["count"]) for row in body}
        except (KeyError, TypeError, ValueError):
            raise ImmichUnavailable("Immich answered the timeline with an unexpected shape") from None

    def time_bucket(self, month: str) -> dict[str, list[Any]]:
        """GET /timeline/bucket for "YYYY-MM", with coordinates: parallel arrays, a few
        bytes a photo (ids, fileCreatedAt, latitude, longitude, isTrashed, ...)."""
        body = self._json("GET", "/timeline/bucket", params={"timeBucket": f"{month}-01", "withCoordinates": "true"})
        if not isinstance(body, dict) or not isinstance(body.get("id"), list):
            raise ImmichUnavailable("Immich answered the timeline with an unexpected shape")
        return body

    def asset_statistics(self) -> dict[str, int]:
        body = self._json("GET", "/assets/statistics")
        try:
            return {name: int(body[name]) for name in ("images", "videos", "total")}
        except (KeyError, TypeError, ValueError):
            raise ImmichUnavailable("Immich answered the statistics with an unexpected shape") from None

    def asset_info(self, asset_id: str) -> dict[str, Any]:
        """GET /assets/{id}: one asset with its exifInfo."""
        body = self._json("GET", f"/assets/{quote(asset_id)}")
        if not isinstance(body, dict) or body.get("id") != asset_id:
            raise ImmichUnavailable("Immich answered /assets with an unexpected shape")
        return body

    def update_asset_position(self, asset_id: str, *, latitude: float, longitude: float) -> None:
        """PUT /assets/{id} with only latitude and longitude (needs asset.update)."""
        self._json("PUT", f"/assets/{quote(asset_id)}", {"latitude": latitude, "longitude": longitude})

    def update_assets(self, asset_ids: list[str], **changes: Any) -> None:
        """PUT /assets: the same change to many assets (with no ids, a harmless check that
        the key has asset.update)."""
        self._json_or_empty("PUT", "/assets", {"ids": asset_ids, **changes})

    def open_thumbnail(self, asset_id: str, *, size: str, if_none_match: str | None) -> UpstreamMedia:
        headers = {"If-None-Match": if_none_match} if if_none_match else {}
        return self._media(f"/assets/{quote(asset_id)}/thumbnail", {"size": size}, headers)

    def open_original(self, asset_id: str, *, range_header: str | None,
                      if_range: str | None = None) -> UpstreamMedia:
        headers = {}
        if range_header:
            headers["Range"] = range_header
            if if_range:
                headers["If-Range"] = if_range
        return self._media(f"/assets/{quote(asset_id)}/original", None, headers)

    # ------------------------------------------------------------------ plumbing

    def _send(self, method: str, path: str, *, params: dict[str, str] | None = None,
              json_body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        response, _ = self._watched(method, path, lambda: self._request(method, path, params, json_body, headers),
                                    lambda response: response.status_code)
        return response

    def _watched(self, method: str, path: str, call: Callable[[], _R],
                 status_of: Callable[[_R], int]) -> tuple[_R, int]:
        """One upstream call under the circuit breaker, logged with its outcome."""
        self._breaker.before_call()
        started = time.monotonic()
        outcome = "error"
        try:
            response = call()
            status = status_of(response)
            outcome = str(status)
        except ImmichError as exc:
            outcome = type(exc).__name__
            if not isinstance(exc, ImmichAddressRefused):
                self._breaker.failed()
            raise
        finally:
            log.info(
                "immich call",
                extra={"upstream_method": method, "upstream_path": path.split("/")[1],
                       "outcome": outcome, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
        if status >= 500:
            self._breaker.failed()
        else:
            self._breaker.succeeded()
        return response, status

    def _request(self, method: str, path: str, params: dict[str, str] | None, json_body: Any,
                 headers: dict[str, str] | None) -> requests.Response:
        try:
            return self._session.request(
                method,
                self._base + path,
                params=params,
                json=json_body,
                headers={"x-api-key": self._api_key, **(headers or {})},
                timeout=(self._limits.connect, self._limits.read),
                allow_redirects=False,
                stream=True,
            )
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
            raise ImmichTimeout() from None
        except requests.exceptions.ConnectionError as exc:
            refused = _cause(exc, AddressRefusedError)
            if refused is not None:
                raise ImmichAddressRefused(refused.refusal) from None
            raise ImmichUnavailable() from None
        except requests.exceptions.RequestException:
            raise ImmichUnavailable() from None

    def _json(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        # JSON calls (search pages above all) share a per-server cap; media streams do not.
        with self._slots:
            return self._json_uncapped(method, path, body, params)

    def _json_uncapped(self, method: str, path: str, body: Any, params: dict[str, str] | None) -> Any:
        return self._decoded(self._read_uncapped(method, path, body, params))

    def _decoded(self, answer: bytes) -> Any:
        try:
            return orjson.loads(answer)
        except ValueError:
            self._breaker.failed()
            raise ImmichUnavailable("Immich answered with something that is not JSON") from None

    def _read_uncapped(self, method: str, path: str, body: Any, params: dict[str, str] | None) -> bytes:
        """A JSON call's whole answer, at most MAX_JSON_BYTES, within the deadline."""
        started = time.monotonic()
        response = self._send(method, path, params=params, json_body=body)
        try:
            self._raise_for_status(response.status_code, path,
                                   lambda: response.raw.read(4096, decode_content=True))
            chunks = []
            received = 0
            for chunk in response.iter_content(MEDIA_CHUNK):
                chunks.append(chunk)
                received += len(chunk)
                if received > MAX_JSON_BYTES:
                    raise ImmichUnavailable("Immich's answer was too large")
                if time.monotonic() - started > self._limits.deadline:
                    raise ImmichTimeout()
            return b"".join(chunks)
        except requests.exceptions.RequestException as exc:
            self._breaker.failed()
            if _caused_by(exc, ReadTimeoutError):
                raise ImmichTimeout() from None
            raise ImmichUnavailable() from None
        except ImmichTimeout:
            self._breaker.failed()
            raise
        finally:
            response.close()

    def _json_or_empty(self, method: str, path: str, body: Any) -> None:
        """A call whose success is 204 No Content."""
        with self._slots:
            response = self._send(method, path, json_body=body)
            try:
                self._raise_for_status(response.status_code, path,
                                       lambda: response.raw.read(4096, decode_content=True))
            finally:
                response.close()

    def _media(self, path: str, params: dict[str, str] | None, headers: dict[str, str]) -> UpstreamMedia:
        url = self._path_base + path + ("?" + urlencode(params) if params else "")
        headers = {**MEDIA_HEADERS, "x-api-key": self._api_key, **headers}
        response, status = self._watched("GET", path, lambda: self._open_media(url, headers),
                                         lambda response: response.status)
        media = UpstreamMedia(response)
        if status in (200, 206, 304, 416):
            return media
        try:
            self._raise_for_status(status, path, lambda: response.read(4096, decode_content=True))
        finally:
            media.close()
        raise ImmichUnavailable(f"Immich answered with an unexpected status {status}")

    def _open_media(self, url: str, headers: dict[str, str]) -> BaseHTTPResponse:
        try:
            return self._media_pool.urlopen(
                "GET", url, headers=headers, redirect=False, retries=False, preload_content=False,
                decode_content=False, timeout=Timeout(connect=self._limits.connect, read=self._limits.read),
            )
        except AddressRefusedError:
            raise ImmichAddressRefused() from None
        except NewConnectionError:  # before ConnectTimeoutError: urllib3 makes it a subclass
            raise ImmichUnavailable() from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise ImmichTimeout() from None
        except (HTTPError, OSError):
            raise ImmichUnavailable() from None

    def _raise_for_status(self, status: int, path: str, body: Callable[[], bytes]) -> None:
        if 200 <= status < 300:
            return
        if status == 401:
            raise ImmichAuthError()
        if status == 403:
            raise ImmichPermissionError(_missing_permission(body))
        if status == 404 or (status == 400 and "/assets/" in path):
            raise ImmichNotFound()
        if 300 <= status < 400:
            raise ImmichUnavailable("Immich answered with a redirect, which Photo Atlas does not follow")
        if status >= 500:
            raise ImmichUnavailable(f"Immich answered with an error ({status})")
        raise ImmichUnavailable(f"Immich refused the request ({status})")


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in exc's chain of causes and reasons, if any."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return _cause(exc, kind) is not None


def _missing_permission(body: Callable[[], bytes]) -> str | None:
    """Immich's 403 says `Missing required permission: asset.view`; keep only the name."""
    try:
        message = orjson.loads(body()).get("message", "")
    except (ValueError, AttributeError, OSError, ProtocolError):
        return None
    if isinstance(message, str) and "permission:" in message:
        name = message.rsplit(":", 1)[1].strip()
        if name.replace(".", "").replace("_", "").isalnum() and len(name) < 64:
            return name
    return None
