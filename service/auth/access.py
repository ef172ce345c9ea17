"""Whose resources a path names: `me`, or the caller's own id. Admins included, users only
ever reach their own Immich settings and photos."""

from __future__ import annotations

import uuid

from flask_jwt_extended import current_user

from service.errors import Forbidden
from service.models import User


def owner_of(user_ref: str) -> User:
    user: User = current_user
    check_own(user_ref, user.id)
    return user


def check_own(user_ref: str, user_id: uuid.UUID) -> None:
    """The path names the caller (`me` or their own id), or Forbidden."""
    if user_ref != "me" and user_ref.lower() != str(user_id):
        raise Forbidden("You can only reach your own Immich settings and photos")
