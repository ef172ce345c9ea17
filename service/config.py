"""Settings: every environment variable is read here, once, inside create_app."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits
from cryptography.fernet import Fernet
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def tile_origin(tile_url: str) -> str:
    """The origin map tiles come from (a wildcard for {s} subdomains), for a CSP; "" if none."""
    tiles = urlsplit(tile_url.replace("{s}", "a"))
    if tiles.scheme not in ("http", "https") or not tiles.netloc:
        return ""
    host = tiles.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else tiles.netloc
    return f"{tiles.scheme}://{host}"


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message names the setting."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0")
    return value


@dataclass(frozen=True)
class RateLimit:
    """At most `amount` in any `seconds`."""

    amount: int
    seconds: int


def _rate_limit(name: str, raw: str) -> RateLimit:
    try:
        item = limits.parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must read like '10 per 15 minutes', not {raw!r}") from None
    return RateLimit(item.amount, item.get_expiry())


def _networks(name: str, raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a comma list of IP addresses or CIDRs, not {raw!r}") from None


def _sign_in_settings(setting: Callable[..., str | None]) -> dict[str, Any]:
    """Password, OpenID Connect and trusted-header sign-in."""
    issuer = (setting("OIDC_ISSUER") or "").strip() or None
    client_id = (setting("OIDC_CLIENT_ID") or "").strip() or None
    if issuer and not client_id:
        raise ConfigError("OIDC_CLIENT_ID must be set when OIDC_ISSUER is")
    if issuer and not issuer.startswith(("https://", "http://")):
        raise ConfigError(f"OIDC_ISSUER must be an http(s) URL, not {issuer!r}")
    scopes = (setting("OIDC_SCOPES", "openid email profile") or "").split()
    if issuer and "openid" not in scopes:
        raise ConfigError("OIDC_SCOPES must include openid")
    header = (setting("TRUSTED_HEADER_AUTH") or "").strip() or None
    if header and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", header):
        raise ConfigError(f"TRUSTED_HEADER_AUTH must be a header name such as Remote-User, not {header!r}")
    return {
        "PASSWORD_LOGIN": _bool("PASSWORD_LOGIN", setting("PASSWORD_LOGIN", "true") or ""),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": setting("OIDC_CLIENT_SECRET") or None,
        "OIDC_SCOPES": " ".join(scopes),
        "OIDC_AUTO_REGISTER": _bool("OIDC_AUTO_REGISTER", setting("OIDC_AUTO_REGISTER", "false") or ""),
        "OIDC_BUTTON_LABEL": setting("OIDC_BUTTON_LABEL", "Sign in with SSO") or "Sign in with SSO",
        "OIDC_TIMEOUT": _float("OIDC_TIMEOUT", setting("OIDC_TIMEOUT", "10") or ""),
        "TRUSTED_HEADER_AUTH": header,
        "TRUSTED_HEADER_AUTO_REGISTER": _bool(
            "TRUSTED_HEADER_AUTO_REGISTER", setting("TRUSTED_HEADER_AUTO_REGISTER", "false") or ""
        ),
    }


def _instance_secrets(instance_path: Path) -> dict[str, str]:
    """Development default: generate the secrets once and keep them in the instance folder."""
    path = instance_path / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    stored = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
    }
    _write_private(path, json.dumps(stored, indent=2))
    return stored


def _instance_encryption_keys(instance_path: Path) -> Path:
    path = instance_path / "encryption.keys"
    if not path.exists():
        _write_private(path, Fernet.generate_key().decode() + "\n")
    return path


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def read_key_file(path: str | Path) -> str:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"ENCRYPTION_KEYS_FILE cannot be read: {exc.strerror}") from None
    return ",".join(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def load_config(
    instance_path: Path, env: dict[str, str], test_config: dict[str, Any] | None
) -> dict[str, Any]:
    """Build the app's settings from the environment, overridden by test_config."""
    overrides = dict(test_config or {})
    consumed: set[str] = set()

    def setting(name: str, default: str | None = None) -> str | None:
        consumed.add(name)
        if name in overrides:
            value = overrides[name]
            return value if value is None or isinstance(value, str) else str(value)
        return env.get(name, default)

    production = (setting("PHOTO_ATLAS_ENV", "development") or "").lower() == "production"

    secret_key = setting("SECRET_KEY")
    jwt_secret_key = setting("JWT_SECRET_KEY")
    if not (secret_key and jwt_secret_key):
        if production:
            missing = "SECRET_KEY" if not secret_key else "JWT_SECRET_KEY"
            raise ConfigError(f"{missing} must be set when PHOTO_ATLAS_ENV=production")
        generated = _instance_secrets(instance_path)
        secret_key = secret_key or generated["SECRET_KEY"]
        jwt_secret_key = jwt_secret_key or generated["JWT_SECRET_KEY"]

    encryption_keys = setting("ENCRYPTION_KEYS")
    keys_file = setting("ENCRYPTION_KEYS_FILE")
    if not encryption_keys:
        if keys_file:
            encryption_keys = read_key_file(keys_file)
        elif production:
            raise ConfigError(
                "ENCRYPTION_KEYS or ENCRYPTION_KEYS_FILE must be set when PHOTO_ATLAS_ENV=production"
            )
        else:
            keys_file = str(_instance_encryption_keys(instance_path))
            encryption_keys = read_key_file(keys_file)

    database_url = setting("DATABASE_URL") or f"sqlite:///{instance_path / 'photo-atlas.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

    redis_url = setting("REDIS_URL") or None
    redis_timeout = _float("REDIS_TIMEOUT", setting("REDIS_TIMEOUT", "0.5") or "")

    registration_limit = setting("REGISTRATION_RATE_LIMIT", "100 per hour") or ""
    _rate_limit("REGISTRATION_RATE_LIMIT", registration_limit)  # checked here; flask-limiter reads the text
    cache_dir = setting("THUMBNAIL_CACHE_DIR") or str(instance_path / "thumbnails")
    accel_redirect = setting("THUMBNAIL_ACCEL_REDIRECT") or None
    if accel_redirect is not None and not (accel_redirect.startswith("/") and accel_redirect.endswith("/")):
        raise ConfigError("THUMBNAIL_ACCEL_REDIRECT must be a path that starts and ends with /, "
                          "such as /_thumbnail_cache/")

    access_minutes = _int("ACCESS_TOKEN_MINUTES", setting("ACCESS_TOKEN_MINUTES", "15") or "", minimum=1)
    refresh_days = _int("REFRESH_TOKEN_DAYS", setting("REFRESH_TOKEN_DAYS", "14") or "", minimum=1)
    cookie_secure = _bool("COOKIE_SECURE", setting("COOKIE_SECURE", "false") or "")

    config: dict[str, Any] = {
        "PRODUCTION": production,
        "HOST": setting("HOST", "127.0.0.1"),
        "PORT": _int("PORT", setting("PORT", "8000") or "", minimum=1),
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "DATABASE_TIMEOUT": _float("DATABASE_TIMEOUT", setting("DATABASE_TIMEOUT", "3") or ""),
        "REDIS_URL": redis_url,
        "REDIS_TIMEOUT": redis_timeout,
        "ENCRYPTION_KEYS": encryption_keys,
        "ENCRYPTION_KEYS_FILE": keys_file,
        "ALLOWED_IMMICH_HOSTS": setting("ALLOWED_IMMICH_HOSTS", "private,external"),
        "REGISTRATION_OPEN": _bool("REGISTRATION_OPEN", setting("REGISTRATION_OPEN", "false") or ""),
        "REGISTRATION_RATE_LIMIT": registration_limit,
        "LOGIN_RATE_LIMIT": _rate_limit("LOGIN_RATE_LIMIT", setting("LOGIN_RATE_LIMIT", "10 per 15 minutes") or ""),
        "LOGIN_ACCOUNT_RATE_LIMIT": _rate_limit(
            "LOGIN_ACCOUNT_RATE_LIMIT", setting("LOGIN_ACCOUNT_RATE_LIMIT", "100 per 15 minutes") or ""
        ),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", setting("TRUSTED_PROXIES", "0") or ""),
        "TRUSTED_PROXY_ADDRESSES": _networks(
            "TRUSTED_PROXY_ADDRESSES", setting("TRUSTED_PROXY_ADDRESSES", "127.0.0.1,::1") or ""
        ),
        **_sign_in_settings(setting),
        "TILE_URL": setting("TILE_URL", DEFAULT_TILE_URL),
        "TILE_ATTRIBUTION": setting("TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
        "IMMICH_CONNECT_TIMEOUT": _float("IMMICH_CONNECT_TIMEOUT", setting("IMMICH_CONNECT_TIMEOUT", "5") or ""),
        "IMMICH_READ_TIMEOUT": _float("IMMICH_READ_TIMEOUT", setting("IMMICH_READ_TIMEOUT", "30") or ""),
        "IMMICH_DEADLINE": _float("IMMICH_DEADLINE", setting("IMMICH_DEADLINE", "120") or ""),
        "IMMICH_MAX_CONCURRENCY": _int(
            "IMMICH_MAX_CONCURRENCY", setting("IMMICH_MAX_CONCURRENCY", "8") or "", minimum=1
        ),
        "IMMICH_MAX_PAGES": _int("IMMICH_MAX_PAGES", setting("IMMICH_MAX_PAGES", "1000") or "", minimum=1),
        "IMMICH_SEARCH_DEADLINE": _float("IMMICH_SEARCH_DEADLINE", setting("IMMICH_SEARCH_DEADLINE", "180") or ""),
        "IMMICH_BREAKER_FAILURES": _int(
            "IMMICH_BREAKER_FAILURES", setting("IMMICH_BREAKER_FAILURES", "5") or "", minimum=1
        ),
        "IMMICH_BREAKER_SECONDS": _float("IMMICH_BREAKER_SECONDS", setting("IMMICH_BREAKER_SECONDS", "30") or ""),
        "SEARCH_CACHE_SECONDS": _int("SEARCH_CACHE_SECONDS", setting("SEARCH_CACHE_SECONDS", "60") or ""),
        "INDEX_ENABLED": _bool("INDEX_ENABLED", setting("INDEX_ENABLED", "true") or ""),
        "INDEX_REFRESH_SECONDS": _int("INDEX_REFRESH_SECONDS", setting("INDEX_REFRESH_SECONDS", "300") or ""),
        "INDEX_RECONCILE_SECONDS": _int(
            "INDEX_RECONCILE_SECONDS", setting("INDEX_RECONCILE_SECONDS", "3600") or ""
        ),
        "INDEX_LEASE_SECONDS": _float("INDEX_LEASE_SECONDS", setting("INDEX_LEASE_SECONDS", "60") or ""),
        "SHARE_MAX_DAYS": _int("SHARE_MAX_DAYS", setting("SHARE_MAX_DAYS", "90") or "", minimum=1),
        "SHARE_RATE_LIMIT": setting("SHARE_RATE_LIMIT", "60 per minute"),
        "SHARE_MEDIA_RATE_LIMIT": setting("SHARE_MEDIA_RATE_LIMIT", "600 per minute"),
        "SHARE_MAP_RATE_LIMIT": setting("SHARE_MAP_RATE_LIMIT", "600 per minute"),
        "SHARE_UNLOCK_RATE_LIMIT": setting("SHARE_UNLOCK_RATE_LIMIT", "10 per 15 minutes"),
        "THUMBNAIL_CACHE_MB": _int("THUMBNAIL_CACHE_MB", setting("THUMBNAIL_CACHE_MB", "1024") or ""),
        "THUMBNAIL_CACHE_DIR": cache_dir,
        "THUMBNAIL_ACCEL_REDIRECT": accel_redirect,
        "TRACK_UPLOAD_MB": _int("TRACK_UPLOAD_MB", setting("TRACK_UPLOAD_MB", "100") or "", minimum=1),
        "TRACK_MAX_GAP_MINUTES": _int(
            "TRACK_MAX_GAP_MINUTES", setting("TRACK_MAX_GAP_MINUTES", "30") or "", minimum=1
        ),
        "TRIP_MIN_KM": _int("TRIP_MIN_KM", setting("TRIP_MIN_KM", "50") or "", minimum=1),
        # Request bodies on /api are small JSON documents.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # flask-jwt-extended
        "JWT_SECRET_KEY": jwt_secret_key,
        "JWT_TOKEN_LOCATION": ["headers", "cookies"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=access_minutes),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=refresh_days),
        "JWT_COOKIE_SECURE": cookie_secure,
        "JWT_COOKIE_SAMESITE": "Lax",
        "JWT_COOKIE_CSRF_PROTECT": True,
        "JWT_CSRF_CHECK_FORM": False,
        "JWT_REFRESH_COOKIE_PATH": "/api/auth/refresh",
        "JWT_REFRESH_CSRF_COOKIE_PATH": "/",
        # flask-limiter (sign-ups): with Redis down it counts in this process's memory meanwhile,
        # waiting at most REDIS_TIMEOUT, and never fails a request over it.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": redis_timeout, "socket_connect_timeout": redis_timeout,
                                      "retry": Retry(NoBackoff(), 0)} if redis_url else {},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": setting("RATELIMIT_KEY_PREFIX", "photo-atlas") or "photo-atlas",
    }
    # Anything a test passes that is not a plain setting read above goes straight in.
    config.update({k: v for k, v in overrides.items() if k not in consumed})
    return config
