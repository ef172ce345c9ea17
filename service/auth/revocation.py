"""Revoked login sessions, kept in the database: a logout holds in every process, through a
Redis outage or a Redis restart that lost its data, until the tokens would have expired."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

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
