"""One error shape. Every error a client may see is an AppError whose class declares its HTTP
status (and, where the browser must tell kinds apart, a machine-readable `code`); one handler
turns any of them into {"success": false, "error": message[, "code": code]} on /api and an
HTML page elsewhere. This module sits at the bottom: it imports no feature module.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Our own words for werkzeug's errors: its descriptions are long and speak of the server.
MESSAGES = {
    400: "The request could not be understood",
    401: "Authentication required",
    403: "You do not have access to this resource",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "The request body is too large (1 MiB at most)",
    415: "Send the body as application/json",
    429: "Too many attempts; try again later",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class AppError(Exception):
    """An error the client should see. Subclasses set `status`, a default `message` and
    optionally `code`; `message` must be safe to show (no address, key or upstream body)."""

    status: int = 500
    code: str | None = None
    message: str = "Internal server error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        if message:
            self.message = message
        self.headers: dict[str, str] = {}


class ApiError(AppError):
    """An error whose status is chosen where it is raised (routing-level failures)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class InvalidInput(AppError):
    """Bad input from the client; the message names the field."""

    status = 400


class Forbidden(AppError):
    status = 403
    message = MESSAGES[403]


class RetryLater(AppError):
    """A dependency is briefly unavailable; the client may retry after `retry_after` seconds."""

    status = 503
    message = "Service unavailable; try again shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def envelope(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify({"success": True, "data": data}), status


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   code: str | None = None) -> Response:
    body: dict[str, Any] = {"success": False, "error": message}
    if code:
        body["code"] = code
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _reply(status: int, message: str, headers: dict[str, str] | None = None, code: str | None = None) -> Any:
    if wants_json():
        return error_response(status, message, headers, code)
    return _page(status, message)


def _is_disconnect(error: Exception) -> bool:
    return isinstance(error, OperationalError | InterfaceError)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> Any:
        return _reply(error.status, error.message, error.headers, error.code)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def handle_database_down(error: Exception) -> Any:
        # Only connection loss is "unavailable"; any other database error is our bug.
        if isinstance(error, DBAPIError) and not error.connection_invalidated and not _is_disconnect(error):
            return handle_unexpected(error)
        log.warning("database unavailable: %s", type(error).__name__, extra={"dependency": "database"})
        return handle_app_error(RetryLater("The database is unavailable; try again shortly"))

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def handle_redis_down(error: Exception) -> Any:
        # Every use of Redis falls back on its own; this is the net under one that did not.
        log.warning("redis unavailable: %s", type(error).__name__, extra={"dependency": "redis"})
        return handle_app_error(RetryLater())

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        status = error.code or 500
        headers = {}
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        return _reply(status, MESSAGES.get(status, error.name), headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Any:
        # The traceback may hold secrets (keys, tokens, SQL): log only where it happened.
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        # The route's pattern, not the path: a share's path holds its token.
        route = request.url_rule.rule if request.url_rule else "an unknown route"
        log.error("unexpected %s at %s on %s %s", type(error).__name__, where, request.method, route)
        if wants_json():
            return error_response(500, MESSAGES[500])
        return _page(500, "Something went wrong on our side.")
