"""The Redis client, built so that a dead or frozen Redis costs a request at most one short
timeout: no retries, sub-second socket timeouts, and a circuit breaker that, once a call has
failed, answers every call at once with `RedisUnavailable` until a short cooldown has passed.

`RedisUnavailable` is a redis ConnectionError, so code that already falls back on
`RedisError` falls back on an open circuit too, without waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

DEPENDENCY = {"dependency": "redis"}


class RedisUnavailable(RedisConnectionError):
    """Redis failed a moment ago; not tried again until the cooldown has passed."""


class GuardedRedis(Redis):
    """A Redis client whose every command goes through one circuit breaker."""

    def __init__(self, *args: Any, cooldown: float = 5.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open_until = 0.0  # while in the future, the circuit is open; 0 once Redis answered

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if time.monotonic() < self._open_until:
            raise RedisUnavailable("Redis is unavailable")
        try:
            result = super().execute_command(*args, **options)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._trip(exc)
            raise RedisUnavailable("Redis is unavailable") from None
        if self._open_until:
            self._close()
        return result

    @property
    def available(self) -> bool:
        """False while the circuit is open: callers may skip Redis without asking it."""
        return time.monotonic() >= self._open_until

    def _trip(self, exc: BaseException) -> None:
        with self._lock:
            first = not self._open_until
            self._open_until = time.monotonic() + self.cooldown
        if first:
            log.warning("redis unavailable", extra={**DEPENDENCY, "outcome": type(exc).__name__})

    def _close(self) -> None:
        with self._lock:
            if not self._open_until:
                return
            self._open_until = 0.0
        log.info("redis available again", extra=DEPENDENCY)


def connect_redis(url: str, *, timeout: float, cooldown: float = 5.0) -> GuardedRedis:
    """A client for `url` that waits at most `timeout` seconds to connect or for any reply."""
    pool = ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return GuardedRedis(connection_pool=pool, cooldown=cooldown)
