"""Revoked login sessions, in the database or in Redis when REDIS_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from redis import Redis
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from service.extensions import db
from service.models import RevokedSession


class RevocationStore(Protocol):
    def revoke(self, session_id: str, expires_at: datetime) -> None: ...
    def is_revoked(self, session_id: str) -> bool: ...


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


class RedisRevocations:
    PREFIX = "photo-atlas:revoked:"

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        seconds = max(1, int((expires_at - datetime.now(UTC)).total_seconds()) + 1)
        self._redis.set(self.PREFIX + session_id, b"1", ex=seconds)

    def is_revoked(self, session_id: str) -> bool:
        return bool(self._redis.exists(self.PREFIX + session_id))
