"""/api/users/{me|userId}/immich-config: thin views over the encrypted settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_jwt_extended import current_user, jwt_required

from service.auth.access import owner_of
from service.errors import ApiError, envelope
from service.immich import config
from service.immich.connection_test import run_connection_test
from service.immich.url_policy import UrlRefused
from service.validation import bool_field, json_object, optional_json_object, text_field

bp = Blueprint("immich", __name__)

CONFIG_PATH = "/api/users/<user_ref>/immich-config"


def _check_api_key(api_key: str) -> None:
    # It travels in an HTTP header: printable ASCII only.
    if not all(33 <= ord(ch) < 127 for ch in api_key.strip()):
        raise ApiError(400, "apiKey must be printable ASCII without spaces, as Immich makes them")


@bp.get(CONFIG_PATH)
@jwt_required()
def read_config(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(config.describe(config.get_config(owner.id)))


@bp.put(CONFIG_PATH)
@jwt_required()
def save_config(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    body = json_object()
    server_url = text_field(body, "serverUrl", max_length=2048)
    api_key = text_field(body, "apiKey", max_length=512)
    enabled = bool_field(body, "enabled")
    assert server_url is not None and api_key is not None
    _check_api_key(api_key)
    try:
        config.save_config(user_id=owner.id, server_url=server_url, api_key=api_key, enabled=enabled)
    except UrlRefused as exc:
        raise ApiError(400, str(exc)) from None
    current_app.extensions["search_cache"].invalidate_user(owner.id)
    return envelope("Immich configuration updated successfully")


@bp.delete(CONFIG_PATH)
@jwt_required()
def delete_config(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    config.delete_config(owner.id)
    current_app.extensions["search_cache"].invalidate_user(owner.id)
    return envelope("Immich configuration deleted")


@bp.post("/api/users/me/immich-config/test")
@jwt_required()
def test_connection() -> Any:
    body = optional_json_object()
    if body and (body.get("serverUrl") is not None or body.get("apiKey") is not None):
        server_url = text_field(body, "serverUrl", max_length=2048)
        api_key = text_field(body, "apiKey", max_length=512)
        assert server_url is not None and api_key is not None
        _check_api_key(api_key)
        try:
            url = config.check_url(server_url)
        except UrlRefused as exc:
            raise ApiError(400, str(exc)) from None
        client = config.upstreams().client(url, api_key.strip())
    else:
        try:
            client = config.client_for(current_user.id)
        except config.NotConfigured as exc:
            raise ApiError(409, str(exc)) from None
    return envelope(run_connection_test(client))
