"""Probes for process managers and load balancers: /healthz (alive) and /readyz (can serve)."""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response
from redis.exceptions import RedisError
from sqlalchemy import Engine, text

from service.components import components
from service.errors import envelope, error_response
from service.extensions import db, limiter

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)
# Probes come every few seconds from one address; they must never be throttled.
limiter.exempt(bp)


# A frozen database answers nothing, and a load balancer gives up on a probe after a second
# or two: /readyz says "unreachable" once this has passed, whatever the probe is waiting for.
PROBE_SECONDS = 1.5

# One database probe at a time per engine: while the database hangs, every /readyz waits on
# the same probe instead of each holding a thread of its own.
_probes: weakref.WeakKeyDictionary[Engine, Future[bool]] = weakref.WeakKeyDictionary()
_probes_lock = threading.Lock()


def _probe(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - whatever failed, the database did not answer; its future must settle
        log.warning("readiness: database unreachable (%s)", type(exc).__name__, extra={"dependency": "database"})
        return False
    return True


def _run(engine: Engine, future: Future[bool]) -> None:
    future.set_result(_probe(engine))


def database_probe() -> Future[bool]:
    """The running probe of the database, started if none is."""
    engine = db.engine
    with _probes_lock:
        running = _probes.get(engine)
        if running is None or running.done():
            running = _probes[engine] = Future()
            threading.Thread(target=_run, args=(engine, running), name="readiness-probe", daemon=True).start()
    return running


def answered(probe: Future[bool]) -> bool:
    try:
        return probe.result(timeout=PROBE_SECONDS)
    except FutureTimeout:
        log.warning("readiness: database did not answer in time", extra={"dependency": "database"})
        return False


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
    checks = readiness_checks()
    down = [name for name, up in checks.items() if not up]
    if not checks["database"]:
        return _uncached(error_response(503, f"Not ready: {' and '.join(down)} unreachable"))
    states = {name.lower(): "ok" if up else "unreachable" for name, up in checks.items()}
    response, status = envelope({"status": "degraded" if down else "ok", "checks": states})
    return _uncached(response), status


def readiness_checks() -> dict[str, bool]:
    """Whether the database (and Redis, when set) answered: both asked at once."""
    probe = database_probe()  # runs while Redis is asked
    checks = {"database": True}
    if components().redis is not None:
        checks["Redis"] = redis_reachable()
    checks["database"] = answered(probe)
    return checks
