"""Answers as Immich's stack writes them: NestJS error bodies, Express JSON and file sends.

Errors carry a ``correlationId``; JSON gets Express's weak ETag and conditional GET; files get
the ``send`` package's weak ETag from size and mtime, Last-Modified, byte ranges and
preconditions. The ``invalid_json`` and ``cut`` faults are applied here.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .validation import parse_http_date

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from .transport import ParsedRequest

CACHE_CONTROL = "private, max-age=86400, no-transform"


class CorrelationIds:
    """Eight-character ids like the ones Immich puts in its error bodies; unique per fake."""

    def __init__(self, salt: object) -> None:
        self._salt = salt
        self._counter = itertools.count(1)

    def next(self) -> str:
        n = next(self._counter)
        digest = hashlib.blake2b(f"{self._salt}:{n}".encode(), digest_size=8).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        value = int.from_bytes(digest, "big")
        out = []
        for _ in range(8):
            value, r = divmod(value, 36)
            out.append(alphabet[r])
        return "".join(out)


def _express_etag(body: bytes) -> str:
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


def _content_disposition(file_name: str) -> str:
    # encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) unescaped.
    return "inline; filename*=UTF-8''" + quote(file_name, safe="-_.!~*'()")


def node_ext(name: str) -> str:
    """Node's ``path.extname``."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


def node_stem(name: str) -> str:
    """Node's ``path.parse(name).name``."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    ext = node_ext(name)
    return base[: -len(ext)] if ext and base != ext else base


def error_op(operation: str) -> str:
    """The message of Immich's 500s: ``searchAssets`` -> ``Failed to search assets``."""
    return "Failed to " + re.sub(r"[A-Z]+", lambda m: " " + m.group(0).lower(), operation)


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


class Reply:
    """Writes the answer to one request on its connection."""

    def __init__(self, handler: BaseHTTPRequestHandler, request: ParsedRequest, fake: Any) -> None:
        self._handler = handler
        self._request = request
        self._fake = fake

    # ---- the wire ---------------------------------------------------------------------------

    def _start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        h = self._handler
        self._request.rec.status = status
        h.send_response_only(status)
        h.send_header("Date", h.date_time_string())
        for k, v in headers:
            h.send_header(k, v)
        if h.close_connection:
            h.send_header("Connection", "close")
        else:
            h.send_header("Connection", "keep-alive")
            timeout = self._fake.keep_alive_timeout
            if timeout:
                h.send_header("Keep-Alive", f"timeout={int(timeout)}")
        h.end_headers()

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        if status not in (204, 304):
            headers = [*headers, ("Content-Length", str(len(body)))]
        self._start(status, headers)
        if body and not self._request.head and status not in (204, 304):
            self._handler.wfile.write(body)

    # ---- JSON, errors, redirects ------------------------------------------------------------

    def json(self, status: int, obj: object) -> None:
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.json_bytes(status, body)

    def json_bytes(self, status: int, body: bytes) -> None:
        if status == 200 and self._fake.fault == "invalid_json":
            body = body[: max(1, len(body) // 2)]
        etag = _express_etag(body)
        headers = [("Content-Type", "application/json; charset=utf-8"), ("ETag", etag)]
        if status == 200 and self._request.method in ("GET", "HEAD") and self._fresh(etag, None):
            self._send(304, [("ETag", etag)], b"")
            return
        self._send(status, headers, body)

    def error(
        self,
        status: int,
        message: object,
        error: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        body: dict = {"message": message}
        if error:
            body["error"] = error
        body["statusCode"] = status
        body["correlationId"] = self._fake.correlation_ids.next()
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = [("Content-Type", "application/json; charset=utf-8"), *(extra or [])]
        self._send(status, headers, raw)

    def no_content(self) -> None:
        self._send(204, [], b"")

    def bad_request(self, message: object) -> None:
        self.error(400, message, "Bad Request")

    def redirect(self, location: str) -> None:
        body = f"Found. Redirecting to {location}".encode()
        headers = [
            ("Location", quote(location, safe="!#$&'()*+,/:;=?@[]~%")),
            ("Vary", "Accept"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        self._send(302, headers, body)

    # ---- Express-style static file sending --------------------------------------------------

    def _fresh(self, etag: str, last_modified: str | None) -> bool:
        h = self._request.headers
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

    def file(
        self,
        *,
        size: int,
        mtime_ms: int,
        content_type: str,
        file_name: str,
        reader: Callable[[int, int], Iterator[bytes]],
        may_cut: bool,
    ) -> None:
        """Send a file like Express's ``res.sendFile``; ``may_cut``: the ``cut`` fault applies."""
        cut = may_cut and self._fake.fault == "cut"
        request = self._request
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
        h = request.headers
        # Preconditions (If-Match / If-Unmodified-Since) -> 412.
        if_match = h.get("if-match")
        failed = False
        if if_match:
            failed = if_match != "*" and not _etag_matches(_token_list(if_match), etag)
        else:
            unmodified = _parse_http_date(h.get("if-unmodified-since"))
            failed = unmodified is not None and mtime_ms / 1000 > unmodified
        if failed:
            self._file_error(412, "Precondition Failed", base)
            return
        if self._fresh(etag, last_modified):
            kept = [(k, v) for k, v in base if not k.lower().startswith("content-")]
            self._send(304, kept, b"")
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
                self._file_error(416, "Range Not Satisfiable", base, [("Content-Range", f"bytes */{size}")])
                return
            if isinstance(ranges, list) and len(ranges) == 1:
                status = 206
                start, end = ranges[0]
                headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        length = max(0, end - start + 1)
        headers.append(("Content-Length", str(length)))
        handler = self._handler
        if cut and not request.head:
            handler.close_connection = True
        self._start(status, headers)
        if request.head or length == 0:
            return
        limit = length // 2 if cut else length
        sent = 0
        for chunk in reader(start, end):
            if sent + len(chunk) > limit:
                chunk = chunk[: limit - sent]
            if chunk:
                handler.wfile.write(chunk)
                sent += len(chunk)
            if sent >= limit:
                break
        if cut:
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _file_error(self, status: int, message: str, base, extra=None) -> None:
        # The file sender's error reaches Nest as an HttpException built from a bare message.
        keep = [(k, v) for k, v in base if k in ("Accept-Ranges", "Last-Modified", "ETag")]
        self.error(status, message, None, [*keep, ("Cache-Control", "none"), *(extra or [])])
