"""JWTs: issuing a linked access/refresh pair, and revoking it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from service.components import components
from service.models import User


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
    components().revocations.revoke(claims["sid"], issued + refresh_lifetime)
    components().credentials.drop(claims["sub"])  # the decrypted Immich key leaves memory too
