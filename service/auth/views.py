"""/api/auth and /api/users/me: thin views over accounts and tokens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_jwt_extended import (
    current_user,
    get_jwt,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
)

from service.auth import accounts, tokens
from service.auth.external_accounts import PasswordLoginDisabled
from service.errors import envelope
from service.extensions import client_address, limiter
from service.validation import json_object, text_field

bp = Blueprint("auth", __name__)


def _registration_limit() -> str:
    return str(current_app.config["REGISTRATION_RATE_LIMIT"])


@bp.post("/api/auth/register")
@limiter.limit(_registration_limit, key_func=client_address, scope="register")
def register() -> Any:
    body = json_object()
    email = text_field(body, "email", max_length=320)
    password = text_field(body, "password", max_length=1024)
    name = text_field(body, "name", max_length=200, required=False)
    assert email is not None and password is not None
    user = accounts.create_user(email=email, password=password, name=name,
                                registration_open=current_app.config["REGISTRATION_OPEN"])
    return envelope(user.to_dict(), 201)


@bp.post("/api/auth/login")
def login() -> Any:
    if not current_app.config["PASSWORD_LOGIN"]:
        raise PasswordLoginDisabled()
    body = json_object()
    email = text_field(body, "email", max_length=320)
    password = text_field(body, "password", max_length=1024)
    assert email is not None and password is not None
    config = current_app.config
    user = accounts.sign_in(email=email, password=password, address=client_address(),
                            per_address=config["LOGIN_RATE_LIMIT"], per_account=config["LOGIN_ACCOUNT_RATE_LIMIT"])
    return _signed_in(user)


def _signed_in(user: Any) -> Any:
    """The new session's tokens, in the body and as cookies."""
    access, refresh = tokens.issue_tokens(user)
    response, status = envelope({"accessToken": access, "refreshToken": refresh, "user": user.to_dict()})
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response, status


@bp.post("/api/auth/refresh")
@jwt_required(refresh=True)
def refresh() -> Any:
    access = tokens.refreshed_access_token(current_user, get_jwt())
    response, status = envelope({"accessToken": access})
    set_access_cookies(response, access)
    return response, status


@bp.post("/api/auth/logout")
@jwt_required(verify_type=False)
def logout() -> Any:
    tokens.revoke_session(get_jwt())
    response, status = envelope("Logged out")
    unset_jwt_cookies(response)
    return response, status


@bp.get("/api/users/me")
@jwt_required()
def me() -> Any:
    return envelope(current_user.to_dict())
