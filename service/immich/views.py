"""/api/users/{me|userId}/immich-config: thin views over the encrypted settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_jwt_extended import current_user, jwt_required

from service.auth.access import owner_of
from service.errors import InvalidInput, envelope
from service.immich import settings
from service.immich.connection_check import check_connection
from service.library import index_service
from service.validation import bool_field, json_object, optional_json_object, text_field

bp = Blueprint("immich", __name__)

CONFIG_PATH = "/api/users/<user_ref>/immich-config"


def _api_key(body: dict[str, Any]) -> str:
    api_key = text_field(body, "apiKey", max_length=512)
    assert api_key is not None
    # The key travels in an HTTP header: printable ASCII only.
    if not all(33 <= ord(ch) < 127 for ch in api_key.strip()):
        raise InvalidInput("apiKey must be printable ASCII without spaces, as Immich makes them")
    return api_key.strip()


def _server_and_key(body: dict[str, Any]) -> tuple[str, str]:
    server_url = text_field(body, "serverUrl", max_length=2048)
    assert server_url is not None
    return server_url, _api_key(body)


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    """The fields a PATCH gives, each checked as PUT checks it; at least one."""
    if not {"serverUrl", "apiKey", "enabled"} & body.keys():
        raise InvalidInput("Give at least one of serverUrl, apiKey and enabled")
    return {
        "server_url": text_field(body, "serverUrl", max_length=2048) if "serverUrl" in body else None,
        "api_key": _api_key(body) if "apiKey" in body else None,
        "enabled": bool_field(body, "enabled") if "enabled" in body else None,
    }


@bp.get(CONFIG_PATH)
@jwt_required()
def read_config(user_ref: str) -> Any:
    return envelope(settings.describe(settings.get_settings(owner_of(user_ref).id)))


@bp.put(CONFIG_PATH)
@jwt_required()
def save_config(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    body = json_object()
    server_url, api_key = _server_and_key(body)
    enabled = bool_field(body, "enabled")
    settings.save_settings(user_id=owner.id, server_url=server_url, api_key=api_key, enabled=enabled)
    index_service.sync_soon(user_id=owner.id)
    return envelope("Immich configuration updated successfully")


@bp.patch(CONFIG_PATH)
@jwt_required()
def change_config(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    settings.update_settings(user_id=owner.id, **_changes(json_object()))
    index_service.sync_soon(user_id=owner.id)
    return envelope("Immich configuration updated successfully")


@bp.delete(CONFIG_PATH)
@jwt_required()
def delete_config(user_ref: str) -> Any:
    settings.delete_settings(owner_of(user_ref).id)
    return envelope("Immich configuration deleted")


@bp.post("/api/users/me/immich-config/test")
@jwt_required()
def test_connection() -> Any:
    body = optional_json_object()
    if body and (body.get("serverUrl") is not None or body.get("apiKey") is not None):
        server_url, api_key = _server_and_key(body)
        client = settings.client_with(settings.Credentials(settings.check_url(server_url), api_key, "unsaved"))
    else:
        client = settings.client_for(current_user.id)
    return envelope(check_connection(client))
