"""Revoked login sessions, kept in the database: a logout holds in every process, through a
Redis outage or a Redis restart that lost its data, until the tokens would have expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.exc import IntegrityError

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
