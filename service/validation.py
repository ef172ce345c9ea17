"""Reading request input: each helper raises InvalidInput (a 400) naming the field."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from service.errors import InvalidInput


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    if not request.is_json:
        raise InvalidInput("Send a JSON object with Content-Type: application/json")
    try:
        body = request.get_json(silent=False)
    except BadRequest as exc:
        if isinstance(exc, RequestEntityTooLarge):
            raise
        raise InvalidInput("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object")
    return body


def optional_json_object() -> dict[str, Any] | None:
    if not request.get_data(cache=True):
        return None
    return json_object()


def text_field(body: dict[str, Any], name: str, *, max_length: int, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidInput(f"{name} must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} is required and must be true or false")
    return value


def json_value() -> Any:
    """The request body as any JSON value (e.g. an array), or a 400."""
    if not request.is_json:
        raise InvalidInput("Send JSON with Content-Type: application/json")
    try:
        return request.get_json(silent=False)
    except BadRequest as exc:
        if isinstance(exc, RequestEntityTooLarge):
            raise
        raise InvalidInput("The request body is not valid JSON") from None
