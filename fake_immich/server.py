"""A fake Immich 2.7.4 server over real HTTP, for tests and local development.

Behaviour follows Immich's OpenAPI spec and its server code: NestJS error bodies with a
``correlationId``, API-key permissions, access errors as 400 "Not found or no <perm> access",
Express-style file responses (weak ETag from size and mtime, Last-Modified, byte ranges,
conditional GET) and Node's keep-alive (idle connections are closed after 5 s).

``FakeImmich`` is the handle tests hold: a ``Library`` (the data and its test hooks) served
through the ``routes`` over the ``transport``, with faults to inject and a log of requests.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from . import routes
from .library import Library
from .responses import CorrelationIds
from .transport import Listener, RecordedRequest, RequestLog

SERVER_VERSION = routes.SERVER_VERSION
FAULT_MODES = (None, "down", "slow", "500", "invalid_json", "cut", "redirect")


class FakeImmich(Library):
    """A fake Immich server on 127.0.0.1. ``FakeImmich(latency=0.0).start()``, ``.stop()``."""

    def __init__(
        self,
        latency: float = 0.0,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        slow_seconds: float = 5.0,
        keep_alive_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port: int | None = port or None
        self._requested_port = port
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.keep_alive_timeout = keep_alive_timeout
        self.redirect_to: str | None = None  # fault "redirect": None -> the request's own URL
        self.fault: str | None = None
        self._failing: Counter[str] = Counter()  # endpoint -> how many more calls answer 500
        self._failing_lock = threading.Lock()
        self.errors: list[BaseException] = []  # unexpected exceptions inside the fake
        super().__init__()
        self.request_log = RequestLog()
        self.correlation_ids = CorrelationIds(id(self))
        self._listener = Listener(self, routes.dispatch)
        self._started = False

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeImmich:
        if self._started:
            raise RuntimeError("FakeImmich already started")
        self._started = True
        if self.fault != "down":
            self._bind()
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._listener.unbind()

    def __enter__(self) -> FakeImmich:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _bind(self) -> None:
        self.port = self._listener.bind(self.host, self.port or self._requested_port)

    def set_fault(self, mode: str | None) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {FAULT_MODES}")
        previous = self.fault
        self.fault = mode
        if not self._started:
            return
        if mode == "down" and previous != "down":
            self._listener.unbind()
        elif previous == "down" and mode != "down":
            self._bind()

    def fail_next(self, endpoint: str, times: int = 1) -> None:
        """The next `times` calls of one endpoint (as ``request_counts`` names it, e.g.
        ``"POST /api/search/metadata"``) answer 500; the rest of the server works on."""
        with self._failing_lock:
            self._failing[endpoint] += times

    def take_failure(self, endpoint: str) -> bool:
        """Whether this call of `endpoint` is one that fail_next() asked to fail."""
        with self._failing_lock:
            if self._failing[endpoint] <= 0:
                return False
            self._failing[endpoint] -= 1
            return True

    # ---- observation ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.request_log.all()

    def clear_requests(self) -> None:
        self.request_log.clear()

    def request_counts(self) -> Counter[str]:
        """Requests per endpoint since the last ``clear_requests``, e.g.
        ``counts["POST /api/search/metadata"]``; unknown paths are counted by path."""
        return self.request_log.counts()

    @property
    def open_connections(self) -> int:
        return self._listener.open_connections

    def wait_open_connections(self, expected: int = 0, timeout: float = 2.0) -> int:
        """Poll until ``open_connections == expected`` (or the timeout); return the last count."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.open_connections
            if count == expected or time.monotonic() >= deadline:
                return count
            time.sleep(0.01)
