"""Thumbnails and originals streamed from Immich to the browser, chunk by chunk."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import BinaryIO
from urllib.parse import quote, unquote

from flask import Response, request

from service.errors import AppError
from service.immich.client import MEDIA_CHUNK, UpstreamMedia
from service.photos.thumbnail_cache import CachedThumbnail

THUMBNAIL_CACHE = "private, max-age=3600"
# Shown inline from our origin only when a browser cannot run them: raster images. Anything
# else an Immich sends (HTML, SVG, scripts) is a download, sandboxed should it be opened.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic",
                          "image/heif"})
CONFINED = {"Content-Disposition": "attachment", "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff"}
THUMBNAIL_HEADERS = {"Cache-Control": THUMBNAIL_CACHE, "Vary": "Cookie, Authorization"}


class RangeNotSatisfiable(AppError):
    status = 416
    message = "The requested range is not satisfiable"
PASSED_THROUGH = ("Content-Type", "Content-Length", "ETag", "Last-Modified")


def _streamed(media: UpstreamMedia, status: int, headers: dict[str, str]) -> Response:
    response = Response(media.chunks(), status=status, direct_passthrough=True)
    response.headers.clear()
    for name in PASSED_THROUGH:
        if media.headers.get(name):
            response.headers[name] = media.headers[name]
    response.headers.setdefault("Content-Type", "application/octet-stream")
    response.headers.update(headers)
    response.call_on_close(media.close)
    return response


def _etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    if not if_none_match or not etag:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def _not_modified(etag: str | None) -> Response:
    response = Response(status=304)
    response.headers.update(THUMBNAIL_HEADERS)
    if etag:
        response.headers["ETag"] = etag
    return response


def thumbnail_response(media: UpstreamMedia | CachedThumbnail, if_none_match: str | None,
                       accel_redirect: str | None = None) -> Response:
    if isinstance(media, CachedThumbnail):
        return _cached_thumbnail(media, if_none_match, accel_redirect)
    etag = media.headers.get("ETag")
    if media.status == 304 or _etag_matches(if_none_match, etag):
        media.close()
        return _not_modified(etag)
    return _streamed(media, 200, THUMBNAIL_HEADERS if _inline(media.headers.get("Content-Type"))
                     else {**THUMBNAIL_HEADERS, **CONFINED})


def _inline(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in INLINE_TYPES


def _cached_thumbnail(entry: CachedThumbnail, if_none_match: str | None, accel_redirect: str | None) -> Response:
    """From the cache on disk: sent with sendfile by the server, or by nginx when
    THUMBNAIL_ACCEL_REDIRECT names its internal location (deploy/nginx.conf)."""
    if _etag_matches(if_none_match, entry.etag):
        entry.close()
        return _not_modified(entry.etag)
    headers = {"Content-Type": entry.content_type, **THUMBNAIL_HEADERS,
               **({} if _inline(entry.content_type) else CONFINED)}
    if entry.etag:
        headers["ETag"] = entry.etag
    if entry.last_modified:
        headers["Last-Modified"] = entry.last_modified
    if accel_redirect:
        entry.close()
        return Response(status=200, headers={**headers, "X-Accel-Redirect": accel_redirect + quote(entry.path)})
    response = Response(_file_body(entry.file), status=200, headers=headers, direct_passthrough=True)
    response.content_length = entry.length
    return response


def _file_body(file: BinaryIO) -> Iterable[bytes]:
    server_wrapper = request.environ.get("wsgi.file_wrapper")
    if server_wrapper is not None:
        return server_wrapper(file, MEDIA_CHUNK)  # the server sends it with sendfile, then closes it
    return _read_to_end(file)


def _read_to_end(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(MEDIA_CHUNK):
            yield chunk


def download_response(media: UpstreamMedia, photo_id: str) -> Response:
    if media.status == 416:
        media.close()
        error = RangeNotSatisfiable()
        if media.headers.get("Content-Range"):
            error.headers["Content-Range"] = media.headers["Content-Range"]
        raise error
    name = original_file_name(media.headers.get("Content-Disposition"))
    if not name:
        content_type = (media.headers.get("Content-Type") or "").split(";")[0].strip()
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"photo_{photo_id}{extension}"
    headers = {
        "Content-Disposition": content_disposition(name),
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if media.status == 206 and media.headers.get("Content-Range"):
        headers["Content-Range"] = media.headers["Content-Range"]
    return _streamed(media, 206 if media.status == 206 else 200, headers)


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)', re.IGNORECASE)


def original_file_name(header: str | None) -> str | None:
    """The file name Immich put in its Content-Disposition, made safe, or None."""
    if not header:
        return None
    name = None
    star = _FILENAME_STAR.search(header)
    if star:
        value = star.group(1).strip().strip('"')
        charset, _, encoded = value.partition("''")
        if encoded:
            try:
                name = unquote(encoded, encoding="utf-8" if charset.lower() in ("utf-8", "") else charset,
                               errors="replace")
            except LookupError:  # a charset Python does not know: use the plain name, or ours
                name = None
    if name is None:
        plain = _FILENAME.search(header)
        if plain:
            name = re.sub(r'\\(.)', r"\1", plain.group(1).strip().strip('"'))
    return safe_file_name(name) if name else None


def safe_file_name(name: str) -> str | None:
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:255] or None


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback plus filename* for the real (UTF-8) name."""
    fallback = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
