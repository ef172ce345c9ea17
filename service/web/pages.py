"""Page routes and the vendored browser libraries (served by the app, never a CDN)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue

from service.resources import vendor_root
from service.web.sign_in_options import SIGN_IN_MESSAGES, sign_in_options

bp = Blueprint("web", __name__)

# URL prefix under /vendor/ -> the npm package whose dist/ folder it exposes.
VENDOR_PACKAGES = {
    "leaflet": "leaflet",
    "leaflet.markercluster": "leaflet.markercluster",
}
VENDOR_MAX_AGE = 24 * 3600


def _map_config() -> dict[str, Any]:
    return {
        "tileUrl": current_app.config.get("TILE_URL"),
        "tileAttribution": current_app.config.get("TILE_ATTRIBUTION", ""),
    }


@bp.get("/")
def map_page() -> ResponseReturnValue:
    return render_template("map.html", page="map", config=_map_config())


@bp.get("/login")
def login_page() -> ResponseReturnValue:
    options = sign_in_options(current_app.config)
    error = SIGN_IN_MESSAGES.get(request.args.get("error", ""))
    return render_template("login.html", page="login", config=options, sign_in_error=error)


@bp.get("/settings")
def settings_page() -> ResponseReturnValue:
    return render_template("settings.html", page="settings", config={})


@bp.get("/vendor/<package>/<path:filename>")
def vendor_file(package: str, filename: str) -> ResponseReturnValue:
    """Serve a file from <package>/dist, vendored or in node_modules; anything else is 404."""
    if package not in VENDOR_PACKAGES:
        abort(404)
    dist = vendor_root() / VENDOR_PACKAGES[package] / "dist"
    # send_from_directory joins with safe_join: "..", absolute paths and the like are 404.
    return send_from_directory(dist, filename, max_age=VENDOR_MAX_AGE)
