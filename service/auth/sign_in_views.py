"""Single sign-on pages: /auth/oidc/login and /auth/oidc/callback (OpenID Connect), and
/auth/header/login (a trusted proxy's header). Each ends in the same JWT cookies as a password
login and a redirect to the map; a failure goes back to the sign-in page with its message."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from flask_jwt_extended import set_access_cookies, set_refresh_cookies
from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.auth import external_accounts, tokens, trusted_header
from service.auth.oidc import Flow, InvalidFlow, OidcProvider, SignInFailed
from service.components import components
from service.models import User

log = logging.getLogger(__name__)
bp = Blueprint("sign_in", __name__)

FLOW_COOKIE = "oidc_flow"
FLOW_PATH = "/auth/oidc/"
FLOW_SECONDS = 600


def _provider() -> OidcProvider:
    provider = components().oidc
    if provider is None:
        abort(404)
    return provider


def _callback_url() -> str:
    return url_for("sign_in.oidc_callback", _external=True)


def _flows() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="oidc-flow")


def _flow_from_cookie() -> Flow:
    try:
        return Flow.from_dict(_flows().loads(request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_SECONDS))
    except BadSignature:
        raise InvalidFlow() from None


def _to_map(user: User) -> Response:
    """The same session as a password login: a linked token pair in the JWT cookies."""
    access, refresh = tokens.issue_tokens(user)
    response = current_app.make_response(redirect(url_for("web.map_page")))
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


@bp.get("/auth/oidc/login")
def oidc_login() -> Any:
    url, flow = _provider().authorization_url(redirect_uri=_callback_url())
    response = redirect(url)
    response.set_cookie(FLOW_COOKIE, _flows().dumps(flow.to_dict()), max_age=FLOW_SECONDS, path=FLOW_PATH,
                        secure=current_app.config["JWT_COOKIE_SECURE"], httponly=True, samesite="Lax")
    return response


@bp.get("/auth/oidc/callback")
def oidc_callback() -> Any:
    flow = _flow_from_cookie()
    claims = _provider().claims_for(flow=flow, redirect_uri=_callback_url(), answer=request.args.to_dict())
    user = external_accounts.oidc_user(issuer=claims["iss"], claims=claims,
                                       auto_register=current_app.config["OIDC_AUTO_REGISTER"])
    return _to_map(user)


def _socket_peer() -> str | None:
    """The connection's own address, before ProxyFix replaced it with X-Forwarded-For's."""
    original = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")
    return str(original or request.environ.get("REMOTE_ADDR") or "") or None


@bp.get("/auth/header/login")
def header_login() -> Any:
    header = current_app.config["TRUSTED_HEADER_AUTH"] or abort(404)
    email = trusted_header.header_email(value=request.headers.get(header), peer=_socket_peer(),
                                        proxies=current_app.config["TRUSTED_PROXY_ADDRESSES"])
    user = external_accounts.header_user(email=email, auto_register=current_app.config["TRUSTED_HEADER_AUTO_REGISTER"])
    return _to_map(user)


@bp.errorhandler(SignInFailed)
def sign_in_failed(error: SignInFailed) -> Any:
    if isinstance(error, trusted_header.UntrustedPeer):
        log.warning("trusted sign-in header refused: the connection is not from a trusted proxy")
    response = redirect(url_for("web.login_page", error=error.code))
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
