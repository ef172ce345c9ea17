"""The sign-in check of media requests, kept lean: a map asks for thumbnails by the dozen,
and each needs only whose photos they are and that the session still holds.

A token's signature and claims are verified by flask-jwt-extended (`decode_token`, with
every check the other routes make) the first time this process sees it; the verified
claims are then kept until the token expires. Every request still makes one database read,
with Core rather than the ORM: is the session revoked, does the user still exist, and what
are their Immich settings. Refusals raise flask-jwt-extended's own errors, so their 401s
are the other routes' word for word."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import g, request
from flask_jwt_extended import decode_token
from flask_jwt_extended.config import config
from flask_jwt_extended.exceptions import NoAuthorizationError, RevokedTokenError, UserLookupError, WrongTokenError
from sqlalchemy import bindparam, exists, select

from service.auth.access import check_own
from service.components import components
from service.extensions import db
from service.immich import settings
from service.models import ImmichConfig, RevokedSession, User

View = TypeVar("View", bound=Callable[..., Any])

# Built once: a request then only binds its two values.
_ACCESS = (
    select(User.id, exists().where(RevokedSession.session_id == bindparam("sid")).label("revoked"),
           ImmichConfig.server_url, ImmichConfig.api_key_ciphertext, ImmichConfig.enabled, ImmichConfig.version)
    .outerjoin(ImmichConfig, ImmichConfig.user_id == User.id)
    .where(User.id == bindparam("uid"))
)


class VerifiedTokens:
    """Claims of access tokens this process has verified, by the token's exact text, until
    each expires; the oldest go first past `max_entries`."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._claims: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def claims(self, token: str) -> dict[str, Any]:
        with self._lock:
            found = self._claims.get(token)
        if found is not None and found["exp"] > time.time():
            return found
        claims = cast(dict[str, Any], decode_token(token))  # raises on anything wrong, expiry included
        if claims["type"] != "access":
            raise WrongTokenError("Only non-refresh tokens are allowed")
        with self._lock:
            self._claims[token] = claims
            while len(self._claims) > self._max:
                self._claims.popitem(last=False)
        return claims


@dataclass(frozen=True)
class MediaAccess:
    user_id: uuid.UUID
    stored: Any  # the user's Immich settings' columns (a Row), all None when there are none

    def credentials(self, user_ref: str) -> settings.Credentials:
        """The Immich credentials of the photos the path names: the caller's own only."""
        check_own(user_ref, self.user_id)
        return settings.credentials_of(self.user_id, self.stored)


def media_access_required(view: View) -> View:
    """For media routes instead of jwt_required: the view reads `g.media_access`."""
    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        g.media_access = _access()
        return view(*args, **kwargs)

    return cast(View, checked)


def _access() -> MediaAccess:
    claims = components().verified_tokens.claims(_token())
    try:
        user_id = uuid.UUID(claims["sub"])
    except ValueError:
        raise UserLookupError("no such user", {}, claims) from None
    # A pooled connection of its own, not the request's ORM session: nothing else in a media
    # request reads the database, and a session's set-up and tear-down cost more than the query.
    with db.engine.connect() as connection:
        row = connection.execute(_ACCESS, {"sid": claims["sid"], "uid": user_id}).first()
    if row is None:
        raise UserLookupError("no such user", {}, claims)
    if row.revoked:
        raise RevokedTokenError({}, claims)
    return MediaAccess(user_id, row)


def _token() -> str:
    """The access token as flask-jwt-extended finds it: the Authorization header's Bearer
    token, else the access cookie (a GET needs no CSRF header)."""
    header = request.headers.get(config.header_name, "")
    bearer = [part.split() for part in header.split(",") if part.split()[:1] == [config.header_type]]
    if len(bearer) == 1 and len(bearer[0]) == 2:
        return bearer[0][1]
    cookie = request.cookies.get(config.access_cookie_name)
    if cookie:
        return cookie
    raise NoAuthorizationError("Missing token")
