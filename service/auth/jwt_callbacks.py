"""The JWT layer's answers: which tokens are revoked, whose they are, and its 401s in the
envelope (a malformed token is a 401, never flask-jwt-extended's 422)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_jwt_extended import JWTManager
from flask_jwt_extended.default_callbacks import default_decode_key_callback
from jwt.exceptions import InvalidTokenError, MissingRequiredClaimError

from service.auth.accounts import get_user
from service.components import components
from service.errors import error_response
from service.models import User

# Every token this app issues carries these; flask-jwt-extended would fill in a missing
# `type` or `jti`, and PyJWT accepts a token without `exp`, so a token signed with our key
# but made elsewhere could live for ever or pass as the wrong kind.
NUMBER = (int, float)
REQUIRED_CLAIMS: dict[str, type | tuple[type, ...]] = {
    "sub": str, "iat": NUMBER, "exp": NUMBER, "type": str, "jti": str, "sid": str,
}


def register_jwt_callbacks(jwt: JWTManager) -> None:
    jwt.decode_key_loader(_key_for_complete_tokens)
    jwt.token_in_blocklist_loader(_is_revoked)
    jwt.user_lookup_loader(_load_user)
    jwt.user_lookup_error_loader(_user_gone)
    jwt.unauthorized_loader(_missing)
    jwt.invalid_token_loader(_invalid)
    jwt.expired_token_loader(_expired)
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(_needs_fresh)


def _key_for_complete_tokens(header: dict[str, Any], claims: dict[str, Any]) -> Any:
    """The key to verify a token with every claim we issue; any other token is invalid."""
    for name, kind in REQUIRED_CLAIMS.items():
        if name not in claims:
            raise MissingRequiredClaimError(name)
        if not isinstance(claims[name], kind) or isinstance(claims[name], bool):
            raise InvalidTokenError(f"the {name} claim has the wrong type")
    if claims["type"] not in ("access", "refresh"):
        raise InvalidTokenError("unknown token type")
    return default_decode_key_callback(header, claims)


def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    sid = payload.get("sid")
    if not isinstance(sid, str):
        return True
    # One read answers both: is the session revoked, and whose is it (the lookup below).
    revoked, user = components().revocations.revoked_and_user(sid, str(payload.get("sub")))
    g.session_user = (user,)
    return revoked


def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    loaded: tuple[User | None] | None = g.pop("session_user", None)
    return loaded[0] if loaded else get_user(payload["sub"])


def _unauthorized(message: str) -> Any:
    return error_response(401, message)


def _missing(reason: str) -> Any:
    if "CSRF" in reason:
        return _unauthorized("Missing or wrong CSRF token: send the X-CSRF-TOKEN header")
    return _unauthorized("Authentication required")


def _invalid(_reason: str) -> Any:
    return _unauthorized("Invalid token")


def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Token has expired")


def _revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Token has been revoked")


def _user_gone(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("This account no longer exists")


def _needs_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
    return _unauthorized("Sign in again to do this")
