"""Whose resources a path names: `me`, or the caller's own id. Admins included, users only
ever reach their own Immich settings and photos."""

from __future__ import annotations

from flask_jwt_extended import current_user

from service.errors import Forbidden
from service.models import User


def owner_of(user_ref: str) -> User:
    user: User = current_user
    if user_ref == "me" or user_ref.lower() == str(user.id):
        return user
    raise Forbidden("You can only reach your own Immich settings and photos")
