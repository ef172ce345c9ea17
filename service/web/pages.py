"""Page routes and the vendored browser libraries (served by the app, never a CDN)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from service.immich import settings
from service.resources import vendor_root
from service.web.sign_in_options import SIGN_IN_MESSAGES, sign_in_options

bp = Blueprint("web", __name__)

# URL prefix under /vendor/ -> the npm package whose dist/ folder it exposes.
VENDOR_PACKAGES = {
    "leaflet": "leaflet",
    "leaflet.markercluster": "leaflet.markercluster",
}
VENDOR_MAX_AGE = 24 * 3600
MANIFEST_MAX_AGE = 3600
# The brand colours of app.css: light (--accent) and dark (--canvas in dark mode).
THEME_LIGHT, THEME_DARK = "#1f6f8b", "#15191c"


def _map_config() -> dict[str, Any]:
    return {
        "tileUrl": current_app.config.get("TILE_URL"),
        "tileAttribution": current_app.config.get("TILE_ATTRIBUTION", ""),
    }


def _has_settings() -> bool | None:
    """Whether the signed-in visitor has Immich settings; None when the page cannot tell
    (no access cookie, or an expired one), so the page's script asks instead."""
    try:
        verify_jwt_in_request(optional=True, locations=["cookies"])
        user = get_current_user()
    except (JWTExtendedException, PyJWTError):
        return None
    return None if user is None else settings.get_settings(user.id) is not None


@bp.get("/")
def map_page() -> ResponseReturnValue:
    has_settings = _has_settings()
    if has_settings is False:
        return redirect(url_for("web.welcome_page"))
    return render_template("map.html", page="map", config={**_map_config(), "settingsChecked": bool(has_settings)})


@bp.get("/welcome")
def welcome_page() -> ResponseReturnValue:
    return render_template("welcome.html", page="welcome", config={})


@bp.get("/login")
def login_page() -> ResponseReturnValue:
    options = sign_in_options(current_app.config)
    error = SIGN_IN_MESSAGES.get(request.args.get("error", ""))
    return render_template("login.html", page="login", config=options, sign_in_error=error)


@bp.get("/settings")
def settings_page() -> ResponseReturnValue:
    return render_template("settings.html", page="settings", config={})


@bp.get("/shares")
def shares_page() -> ResponseReturnValue:
    return render_template("shares.html", page="shares", config={})


def _manifest() -> dict[str, Any]:
    """The web app manifest: what a phone needs to put Photo Atlas on its home screen."""

    def icon(name: str, sizes: str, kind: str, purpose: str = "any") -> dict[str, str]:
        return {"src": url_for("static", filename=f"icons/{name}"), "sizes": sizes, "type": kind, "purpose": purpose}

    return {
        "name": "Photo Atlas",
        "short_name": "Photo Atlas",
        "description": "Your Immich photos on a map and a timeline",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": THEME_LIGHT,
        "theme_color": THEME_LIGHT,
        "icons": [
            icon("icon.svg", "any", "image/svg+xml"),
            icon("icon-192.png", "192x192", "image/png"),
            icon("icon-512.png", "512x512", "image/png"),
            icon("icon-maskable-512.png", "512x512", "image/png", "maskable"),
        ],
    }


@bp.get("/manifest.webmanifest")
def web_manifest() -> ResponseReturnValue:
    response = jsonify(_manifest())
    response.mimetype = "application/manifest+json"
    response.cache_control.public = True
    response.cache_control.max_age = MANIFEST_MAX_AGE
    return response


@bp.get("/vendor/<package>/<path:filename>")
def vendor_file(package: str, filename: str) -> ResponseReturnValue:
    """Serve a file from <package>/dist, vendored or in node_modules; anything else is 404."""
    if package not in VENDOR_PACKAGES:
        abort(404)
    dist = vendor_root() / VENDOR_PACKAGES[package] / "dist"
    # send_from_directory joins with safe_join: "..", absolute paths and the like are 404.
    return send_from_directory(dist, filename, max_age=VENDOR_MAX_AGE)
