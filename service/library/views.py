"""/api/users/{me|userId}/immich/index: the library index's status, and starting a sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_jwt_extended import jwt_required

from service.auth.access import owner_of
from service.errors import envelope
from service.library import index_service

bp = Blueprint("library", __name__)

INDEX_PATH = "/api/users/<user_ref>/immich/index"


@bp.get(INDEX_PATH)
@jwt_required()
def index_status(user_ref: str) -> Any:
    return envelope(index_service.status(user_id=owner_of(user_ref).id))


@bp.post(INDEX_PATH + "/sync")
@jwt_required()
def start_sync(user_ref: str) -> Any:
    return envelope(index_service.request_sync(user_id=owner_of(user_ref).id), 202)
