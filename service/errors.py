"""One error shape: ApiError anywhere becomes {"success": false, "error": message} on /api."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from service.immich.client import ImmichCircuitOpen, ImmichError, ImmichNotFound, ImmichTimeout

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


class ApiError(Exception):
    """An error the client should see, with its HTTP status and a human message."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def envelope(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify({"success": True, "data": data}), status


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"success": False, "error": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _is_disconnect(error: Exception) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, OperationalError | InterfaceError)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Any:
        if wants_json():
            return error_response(error.status, error.message, error.headers)
        return _page(error.status, error.message)

    @app.errorhandler(ImmichError)
    def handle_immich_error(error: ImmichError) -> Any:
        # An Immich 401 is never passed on as a 401: that would sign our user out.
        if isinstance(error, ImmichCircuitOpen):
            return handle_api_error(ApiError(503, error.message, headers={"Retry-After": str(error.retry_after)}))
        status = 502
        if isinstance(error, ImmichNotFound):
            status = 404
        elif isinstance(error, ImmichTimeout):
            status = 504
        return handle_api_error(ApiError(status, error.message))

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def handle_database_down(error: Exception) -> Any:
        # Only connection loss is "unavailable"; any other database error is our bug.
        if isinstance(error, DBAPIError) and not error.connection_invalidated and not _is_disconnect(error):
            return handle_unexpected(error)
        log.warning("database unavailable: %s", type(error).__name__)
        return handle_api_error(ApiError(503, "The database is unavailable; try again shortly",
                                         headers={"Retry-After": "5"}))

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        status = error.code or 500
        message = MESSAGES.get(status, error.name)
        headers = {}
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        if wants_json():
            return error_response(status, message, headers)
        return _page(status, message)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Any:
        # The traceback may hold secrets (keys, tokens, SQL): log only where it happened.
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("unexpected %s at %s on %s %s", type(error).__name__, where,
                  request.method, request.path)
        if wants_json():
            return error_response(500, MESSAGES[500])
        return _page(500, "Something went wrong on our side.")
