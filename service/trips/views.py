"""/api/users/{me|userId}/trips: the trips found in the library, and the user's edits."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.blueprints import BlueprintSetupState
from flask_jwt_extended import jwt_required
from werkzeug.routing import BaseConverter

from service.auth.access import owner_of
from service.errors import envelope
from service.photos.search import parse_flag
from service.trips import trip_service
from service.validation import json_object

bp = Blueprint("trips", __name__)

TRIPS_PATH = "/api/users/<user_ref>/trips"


class TripIdConverter(BaseConverter):
    """Trip ids only (16 hex digits), so /trips/merge is never taken for a trip."""

    regex = "[0-9a-f]{16}"


@bp.record_once
def _add_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters["trip_id"] = TripIdConverter


@bp.get(TRIPS_PATH)
@jwt_required()
def list_trips(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    include_hidden = parse_flag("includeHidden", request.args.get("includeHidden"))
    return envelope(trip_service.list_trips(user_id=owner.id, include_hidden=include_hidden))


@bp.patch(TRIPS_PATH + "/<trip_id:trip_id>")
@jwt_required()
def change_trip(user_ref: str, trip_id: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(trip_service.change_trip(user_id=owner.id, trip_id=trip_id, body=json_object()))


@bp.post(TRIPS_PATH + "/merge")
@jwt_required()
def merge_trips(user_ref: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(trip_service.merge_trips(user_id=owner.id, body=json_object()))


@bp.post(TRIPS_PATH + "/<trip_id:trip_id>/split")
@jwt_required()
def split_trip(user_ref: str, trip_id: str) -> Any:
    owner = owner_of(user_ref)
    return envelope(trip_service.split_trip(user_id=owner.id, trip_id=trip_id, body=json_object()))
