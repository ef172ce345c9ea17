"""One JSON line per request, and JSON for the app's own log records, tied by a request id.

Only what is listed in FIELDS is ever written: never headers, cookies, query strings or
bodies, so no key, token or password can reach the log.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import orjson
from flask import Flask, Response, g, request
from flask_jwt_extended import get_jwt_identity
from werkzeug.wsgi import ClosingIterator, FileWrapper

REQUEST_LOGGER = "photo_atlas.request"
APP_LOGGER = "service"
HEADER = "X-Request-Id"
FIELDS = (
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "user_id",
    "remote_addr",
    "upstream_method",
    "upstream_path",
    "outcome",
    "dependency",
)

_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

log = logging.getLogger(REQUEST_LOGGER)


def current_request_id() -> str | None:
    return _current_request_id.get()


def request_id_from(header: str | None) -> str:
    """The caller's id when it is well formed, else a new one."""
    if header and _WELL_FORMED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and the known extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if "request_id" not in entry and (request_id := current_request_id()):
            entry["request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text or traceback may hold a secret.
            entry["exception"] = record.exc_info[0].__name__
        return orjson.dumps(entry, default=str).decode()


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time, so a replaced stdout is followed."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class ContextExecutor(Executor):
    """Runs each task in a copy of the submitter's context, so its log lines keep the request id."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._inner.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def _install_stdout_handler() -> None:
    for name in (REQUEST_LOGGER, APP_LOGGER):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(isinstance(handler, _StdoutHandler) for handler in logger.handlers):
            handler = _StdoutHandler()
            handler.setFormatter(JsonFormatter())
            logger.addHandler(handler)


def _verified_user_id() -> str | None:
    media = g.get("media_access")  # a media request, checked without jwt_required
    if media is not None:
        return str(media.user_id)
    try:
        identity = get_jwt_identity()
    except RuntimeError:  # no token was verified for this request
        return None
    return str(identity) if identity is not None else None


_SHARE_TOKEN = re.compile(r"^(/s/|/api/shares/)[^/]+")


def logged_path(path: str) -> str:
    """The path as logged: a share's token is a secret that opens it, so it never reaches a log."""
    return _SHARE_TOKEN.sub(r"\1<token>", path)


def init_request_logging(app: Flask) -> None:
    """Give every request an id (echoed as X-Request-Id) and log it as one JSON line."""
    if not app.config.get("TESTING"):
        _install_stdout_handler()

    @app.before_request
    def start_request_log() -> None:
        g.request_id = request_id_from(request.headers.get(HEADER))
        g.request_started = time.perf_counter()
        _current_request_id.set(g.request_id)

    @app.after_request
    def finish_request_log(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        started = g.get("request_started", time.perf_counter())
        response.headers[HEADER] = request_id
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": request.method,
            "path": logged_path(request.path),
            "status": response.status_code,
            "user_id": _verified_user_id(),
            "remote_addr": request.remote_addr,
        }

        def write() -> None:
            if "duration_ms" in fields:
                return
            fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            log.info("request", extra=fields)
            _current_request_id.set(None)

        # A streamed body (an original from Immich) is timed to its last byte, when the
        # server closes it; the rest are written now.
        if not response.is_streamed or _is_file(response):
            write()
        elif response.direct_passthrough:
            # The server gets this iterable itself and never calls the response's close().
            response.response = ClosingIterator(cast(Iterable[bytes], response.response), write)
        else:
            response.call_on_close(write)
        return response


def _is_file(response: Response) -> bool:
    """A file from disk (static assets): left alone, so the server may use sendfile."""
    server_wrapper = request.environ.get("wsgi.file_wrapper")
    kinds = (FileWrapper, server_wrapper) if isinstance(server_wrapper, type) else (FileWrapper,)
    return isinstance(response.response, kinds)
