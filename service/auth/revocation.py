"""Revoked login sessions, in the database or in Redis when REDIS_URL is set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Protocol

from redis import Redis
from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.exc import IntegrityError

from service.auth.accounts import get_user
from service.extensions import db
from service.models import RevokedSession, User

# Built once: a signed-in request then only binds its two values.
_SESSION_AND_USER = select(User, exists().where(RevokedSession.session_id == bindparam("sid"))).where(
    User.id == bindparam("uid"))


class RevocationStore(Protocol):
    def revoke(self, session_id: str, expires_at: datetime) -> None: ...
    def is_revoked(self, session_id: str) -> bool: ...

    def revoked_and_user(self, session_id: str, user_id: str) -> tuple[bool, User | None]:
        """Whether the session is revoked, and its user: one database read at most."""
        ...


class DatabaseRevocations:
    def revoke(self, session_id: str, expires_at: datetime) -> None:
        session = db.session
        session.execute(delete(RevokedSession).where(RevokedSession.expires_at < datetime.now(UTC)))
        session.add(RevokedSession(session_id=session_id, expires_at=expires_at))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # already revoked

    def is_revoked(self, session_id: str) -> bool:
        found = db.session.scalar(
            select(RevokedSession.session_id).where(RevokedSession.session_id == session_id)
        )
        return found is not None

    def revoked_and_user(self, session_id: str, user_id: str) -> tuple[bool, User | None]:
        try:
            key = uuid.UUID(user_id)
        except ValueError:
            return self.is_revoked(session_id), None
        row = db.session.execute(_SESSION_AND_USER, {"sid": session_id, "uid": key}).first()
        # No user: the account is gone, which refuses the token whatever its session.
        return (bool(row[1]), row[0]) if row else (False, None)


class RedisRevocations:
    PREFIX = "photo-atlas:revoked:"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        seconds = max(1, int((expires_at - datetime.now(UTC)).total_seconds()) + 1)
        self._redis.set(self.PREFIX + session_id, b"1", ex=seconds)

    def is_revoked(self, session_id: str) -> bool:
        return bool(self._redis.exists(self.PREFIX + session_id))

    def revoked_and_user(self, session_id: str, user_id: str) -> tuple[bool, User | None]:
        if self.is_revoked(session_id):
            return True, None
        return False, get_user(user_id)
