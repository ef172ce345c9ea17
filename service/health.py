"""Probes for process managers and load balancers: /healthz (alive) and /readyz (can serve)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.components import components
from service.errors import envelope, error_response
from service.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)
# Probes come every few seconds from one address; they must never be throttled.
limiter.exempt(bp)


def database_reachable() -> bool:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return False
    return True


def redis_reachable() -> bool:
    redis = components().redis
    if redis is None:
        return True
    try:
        redis.ping()
    except (RedisError, OSError) as exc:
        log.warning("readiness: Redis unreachable (%s)", type(exc).__name__, extra={"dependency": "redis"})
        return False
    return True


def _uncached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Any:
    response, status = envelope({"status": "ok"})
    return _uncached(response), status


@bp.get("/readyz")
def readyz() -> Any:
    """503 without the database; 200 without Redis, which every use of it can do without
    (taking every instance out of the load balancer over a shared cache would be worse)."""
    checks = {"database": database_reachable()}
    if components().redis is not None:
        checks["Redis"] = redis_reachable()
    down = [name for name, up in checks.items() if not up]
    if not checks["database"]:
        return _uncached(error_response(503, f"Not ready: {' and '.join(down)} unreachable"))
    states = {name.lower(): "ok" if up else "unreachable" for name, up in checks.items()}
    response, status = envelope({"status": "degraded" if down else "ok", "checks": states})
    return _uncached(response), status
