"""JWTs: issuing a linked access/refresh pair, revoking it, and the JWT layer's 401s."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from service.auth.accounts import get_user
from service.auth.revocation import DatabaseRevocations, RedisRevocations, RevocationStore
from service.errors import error_response
from service.extensions import jwt
from service.models import User


def revocations() -> RevocationStore:
    store: RevocationStore = current_app.extensions["revocations"]
    return store


def init_revocations(app: Flask) -> None:
    redis = app.extensions.get("redis")
    app.extensions["revocations"] = RedisRevocations(redis) if redis else DatabaseRevocations()


def issue_tokens(user: User) -> tuple[str, str]:
    """A new login: an access and a refresh token sharing one session id."""
    claims = {"sid": str(uuid.uuid4())}
    identity = str(user.id)
    return (
        create_access_token(identity=identity, additional_claims=claims),
        create_refresh_token(identity=identity, additional_claims=claims),
    )


def refreshed_access_token(user: User, claims: dict[str, Any]) -> str:
    return create_access_token(identity=str(user.id), additional_claims={"sid": claims["sid"]})


def revoke_session(claims: dict[str, Any]) -> None:
    """Revoke this login's access and refresh tokens together."""
    refresh_lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    revocations().revoke(claims["sid"], issued + refresh_lifetime)


@jwt.token_in_blocklist_loader
def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    sid = payload.get("sid")
    return not isinstance(sid, str) or revocations().is_revoked(sid)


@jwt.user_lookup_loader
def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    return get_user(payload["sub"])


def _unauthorized(message: str) -> Any:
    return error_response(401, message)


@jwt.unauthorized_loader
def _missing(reason: str) -> Any:
    if "CSRF" in reason:
        return _unauthorized("Missing or wrong CSRF token: send the X-CSRF-TOKEN header")
    return _unauthorized("Authentication required")


@jwt.invalid_token_loader
def _invalid(_reason: str) -> Any:
    return _unauthorized("Invalid token")


@jwt.expired_token_loader
def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Token has expired")


@jwt.revoked_token_loader
def _revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Token has been revoked")


@jwt.user_lookup_error_loader
def _user_gone(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("This account no longer exists")


@jwt.needs_fresh_token_loader
def _needs_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Sign in again to do this")
