"""The API's OpenAPI 3.1 description (service/openapi.json, written by hand) and a page
that renders it with Swagger UI, served from node_modules like the other browser libraries."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.security import safe_join

from service.resources import vendor_root

bp = Blueprint("openapi", __name__)

DOCUMENT = Path(__file__).with_name("openapi.json")
UI_PACKAGE = "swagger-ui-dist"
# What the page loads from the package: scripts, style sheets and icons, nothing else.
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
ASSET_MAX_AGE = 24 * 3600


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document, read once per process."""
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@cache
def _document_body() -> bytes:
    return json.dumps(document(), ensure_ascii=False).encode("utf-8")


@bp.get("/api/openapi.json")
def openapi_document() -> ResponseReturnValue:
    response = current_app.response_class(_document_body(), mimetype="application/json")
    # Revalidated, not re-sent: the ETag changes only when the app is upgraded.
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/api/docs")
def docs_page() -> ResponseReturnValue:
    # Under the app's own Content-Security-Policy: Swagger UI styles elements from its
    # script, which `style-src 'self'` allows, and its start-up is static/js/api-docs.js.
    return render_template("api_docs.html")


@bp.get("/api/docs/assets/<file>")
def docs_asset(file: str) -> ResponseReturnValue:
    """A file of the installed Swagger UI package; anything else is 404."""
    package = vendor_root() / UI_PACKAGE
    mimetype = ASSET_TYPES.get(Path(file).suffix.lower())
    # safe_join refuses "..", absolute paths and separators that would leave the package.
    if mimetype is None or safe_join(str(package), file) is None:
        abort(404)
    return send_from_directory(package, file, mimetype=mimetype, max_age=ASSET_MAX_AGE)
