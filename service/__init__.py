"""Photo Atlas: your own Immich photos on a map timeline, without exposing Immich."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from service.components import Components
from service.config import ConfigError, load_config, tile_origin
from service.json_provider import OrjsonProvider
from service.resources import default_instance_path, resource_path


class NoCookieSessions(SessionInterface):
    """Sign-in is by JWT and nothing reads Flask's cookie session, so none is opened (a
    signing serializer made and a cookie looked for) or saved, request after request."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask then uses its empty null session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """config → hooks → extensions → blueprints → error handlers → commands.

    The hooks come before the extensions so that request bodies are checked, and request
    logging starts, before flask-limiter's own before_request runs.
    """
    instance_path = Path(
        (test_config or {}).get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH") or default_instance_path()
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path.resolve()),
        template_folder=str(resource_path("templates")),
        static_folder=str(resource_path("static")),
    )
    app.config.from_mapping(load_config(instance_path, dict(os.environ), test_config))
    app.json = OrjsonProvider(app)
    app.session_interface = NoCookieSessions()

    _register_hooks(app)
    _init_extensions(app)
    _register_blueprints(app)

    from service.errors import register_error_handlers

    register_error_handlers(app)

    from service.cli import register_commands

    register_commands(app)
    return app


def create_app_or_exit() -> Flask:
    """create_app for wsgi.py: a bad setting ends the process with one line naming it (the
    message of its ConfigError), not a traceback, in the CLI and in gunicorn alike."""
    try:
        return create_app()
    except ConfigError as exc:
        raise SystemExit(f"Photo Atlas cannot start: {exc}") from None


def check_settings() -> None:
    """Build the app once and let it go; a bad setting raises ConfigError. gunicorn's master
    calls this before it starts a worker, so that it stops with one line rather than
    booting workers that each die with a traceback."""
    from service.components import components
    from service.extensions import db

    app = create_app()
    components(app).close()
    db.bound(app).engine.dispose()


def _init_extensions(app: Flask) -> None:
    from service.auth.jwt_callbacks import register_jwt_callbacks
    from service.extensions import db, jwt, limiter

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    build_components(app.config).install(app)
    db.init_app(app)
    jwt.init_app(app)
    register_jwt_callbacks(jwt)
    limiter.init_app(app)


def build_components(config: Mapping[str, Any]) -> Components:
    """Every shared component, from the config alone."""
    from service.auth.media_access import VerifiedTokens
    from service.auth.oidc import OidcProvider, OidcSettings
    from service.auth.revocation import DatabaseRevocations
    from service.crypto import KeyRing
    from service.immich.client import UpstreamLimits, Upstreams
    from service.immich.settings import CredentialCache, live_versions
    from service.immich.url_policy import UrlPolicy, system_resolver
    from service.library.sync import IndexSettings, IndexSyncer
    from service.photos.map_data import ColumnsCache
    from service.photos.page_pool import PagePool
    from service.photos.search_cache import SearchCache
    from service.photos.shared_search_cache import SharedSearchCache
    from service.photos.thumbnail_cache import ThumbnailCache
    from service.shared_redis import connect_redis

    try:
        policy = UrlPolicy.parse(config["ALLOWED_IMMICH_HOSTS"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    redis = connect_redis(config["REDIS_URL"], timeout=config["REDIS_TIMEOUT"]) if config["REDIS_URL"] else None
    cache_seconds = config["SEARCH_CACHE_SECONDS"]
    local_cache = SearchCache(ttl_seconds=cache_seconds)
    return Components(
        key_ring=KeyRing(config["ENCRYPTION_KEYS"]),
        upstreams=Upstreams(
            policy=policy,
            resolver=config.get("RESOLVER") or system_resolver,
            limits=UpstreamLimits(
                connect=config["IMMICH_CONNECT_TIMEOUT"],
                read=config["IMMICH_READ_TIMEOUT"],
                deadline=config["IMMICH_DEADLINE"],
                search_pages=config["IMMICH_MAX_PAGES"],
                search_deadline=config["IMMICH_SEARCH_DEADLINE"],
                breaker_failures=config["IMMICH_BREAKER_FAILURES"],
                breaker_seconds=config["IMMICH_BREAKER_SECONDS"],
            ),
            max_concurrency=config["IMMICH_MAX_CONCURRENCY"],
        ),
        # Search pages run on these threads, taking turns per user and server, in the request's
        # context so that their log lines keep its request id.
        search_executor=PagePool(workers=32, per_lane=config["IMMICH_MAX_CONCURRENCY"]),
        # With Redis, several app processes share one cache, and single flight holds across them;
        # while Redis is down, each process falls back on its own.
        search_cache=(SharedSearchCache(redis, ttl_seconds=cache_seconds, fallback=local_cache) if redis
                      else local_cache),
        revocations=DatabaseRevocations(),
        credentials=CredentialCache(),
        thumbnail_cache=(ThumbnailCache(Path(config["THUMBNAIL_CACHE_DIR"]), config["THUMBNAIL_CACHE_MB"] << 20,
                                        live_versions=live_versions)
                         if config["THUMBNAIL_CACHE_MB"] else None),
        redis=redis,
        index_syncer=IndexSyncer(IndexSettings(
            enabled=config["INDEX_ENABLED"],
            refresh_seconds=config["INDEX_REFRESH_SECONDS"],
            reconcile_seconds=config["INDEX_RECONCILE_SECONDS"],
            window=config["IMMICH_MAX_CONCURRENCY"],
            lease_seconds=config["INDEX_LEASE_SECONDS"],
        )),
        verified_tokens=VerifiedTokens(),
        map_columns=ColumnsCache(),
        # A search's photos as JSON: about 450 bytes a photo, so 500,000 of one user's fit.
        encoded_photos=ColumnsCache(max_bytes=384 * 1024 * 1024),
        oidc=OidcProvider(OidcSettings(
            issuer=config["OIDC_ISSUER"],
            client_id=config["OIDC_CLIENT_ID"],
            client_secret=config["OIDC_CLIENT_SECRET"],
            scopes=config["OIDC_SCOPES"],
            timeout=config["OIDC_TIMEOUT"],
        )) if config.get("OIDC_ISSUER") else None,
    )


def _register_blueprints(app: Flask) -> None:
    from service.auth.sign_in_views import bp as sign_in_bp
    from service.auth.views import bp as auth_bp
    from service.health import bp as health_bp
    from service.immich.views import bp as immich_bp
    from service.library.views import bp as library_bp
    from service.openapi import bp as openapi_bp
    from service.photos.views import bp as photos_bp
    from service.shares.views import bp as shares_bp
    from service.tracks.views import bp as tracks_bp
    from service.trips.views import bp as trips_bp
    from service.web import bp as web_bp

    for blueprint in (auth_bp, sign_in_bp, immich_bp, library_bp, photos_bp, shares_bp, tracks_bp, trips_bp,
                      web_bp, health_bp, openapi_bp):
        app.register_blueprint(blueprint)


def _content_security_policy(tile_url: str) -> str:
    origin = tile_origin(tile_url)
    tiles = f" {origin}" if origin else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{tiles}; connect-src 'self'; font-src 'self'; "
        "manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _register_hooks(app: Flask) -> None:
    from service.request_log import init_request_logging
    from service.tracks.track_service import UploadTooLarge

    init_request_logging(app)
    csp = _content_security_policy(app.config["TILE_URL"])
    max_body = app.config["MAX_CONTENT_LENGTH"]
    secure_cookies = app.config["JWT_COOKIE_SECURE"]
    # Track files are the one large upload: streamed to a temporary file, never read whole.
    upload_limits = {"tracks.upload_track": app.config["TRACK_UPLOAD_MB"] * 1024 * 1024}

    @app.before_request
    def refuse_large_bodies() -> None:
        upload_limit = upload_limits.get(request.endpoint or "")
        if upload_limit is not None:
            request.max_content_length = upload_limit  # werkzeug stops reading past it
            if request.content_length is not None and request.content_length > upload_limit:
                raise UploadTooLarge(app.config["TRACK_UPLOAD_MB"])
        elif request.content_length is not None:
            # Refused from the declared length, before anything is read.
            if request.content_length > max_body:
                raise RequestEntityTooLarge()
        elif request.method in ("POST", "PUT", "PATCH", "DELETE"):
            # A chunked body has no declared length: read at most max_body bytes now, and
            # refuse it if the client had more to send.
            if len(request.get_data(cache=True)) >= max_body and request.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        if request.is_secure or secure_cookies:
            # Browsers keep to https for a year once they have seen this over https.
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response
