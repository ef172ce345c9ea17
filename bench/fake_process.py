"""The fake Immich in a process of its own, driven through a pipe.

In the bench's own process the fake would share one GIL with the clients that measure it:
a client thread waiting to read a page would queue behind the fake building the next one,
and every baseline would be slowed by the bench itself. In its own process it runs like
the separate server a real Immich is.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

START_TIMEOUT = 60.0
CALL_TIMEOUT = 120.0


def _serve(conn: Connection, latency: float) -> None:
    from fake_immich import FakeImmich

    fake = FakeImmich(latency=latency).start()
    conn.send(("ready", fake.url))
    try:
        while True:
            try:
                name, args, kwargs = conn.recv()
            except (EOFError, OSError):
                return  # the bench is gone: stop with it
            if name == "stop":
                conn.send(("ok", None))
                return
            try:
                if name == "set_latency":
                    fake.latency = float(args[0])
                    result: Any = None
                elif name == "request_count":
                    result = len(fake.requests)
                elif name == "errors":
                    result = [repr(e) for e in fake.errors]
                else:
                    result = getattr(fake, name)(*args, **kwargs)
                conn.send(("ok", result))
            except Exception as exc:  # noqa: BLE001 - handed back to the caller
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        fake.stop()


class FakeProcess:
    """The parts of FakeImmich the bench uses, forwarded to the fake's process."""

    _ALLOWED = frozenset({"add_bulk_assets", "add_large_original", "expected_search", "original_bytes",
                          "clear_requests", "request_counts", "change_asset"})

    def __init__(self, latency: float = 0.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, latency), name="fake-immich", daemon=True)
        self._lock = threading.Lock()
        self._latency = latency
        self.url = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> FakeProcess:
        self._process.start()
        if not self._conn.poll(START_TIMEOUT):
            self.stop()
            raise RuntimeError("the fake Immich did not start")
        status, url = self._conn.recv()
        if status != "ready":
            raise RuntimeError(f"the fake Immich did not start: {url}")
        self.url = url
        return self

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self._conn.send((name, args, kwargs))
            if not self._conn.poll(CALL_TIMEOUT):
                raise RuntimeError(f"the fake Immich did not answer {name} in {CALL_TIMEOUT:.0f} s")
            status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"fake Immich {name}: {result}")
        return result

    def __getattr__(self, name: str) -> Any:
        if name in self._ALLOWED:
            return lambda *args, **kwargs: self._call(name, *args, **kwargs)
        raise AttributeError(name)

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._call("set_latency", value)
        self._latency = value

    def request_count(self) -> int:
        return int(self._call("request_count"))

    def errors(self) -> list[str]:
        return list(self._call("errors"))

    def stop(self) -> None:
        # Called from the watchdog too, maybe while a call holds the lock: never wait long for it.
        if self._process.is_alive() and self._lock.acquire(timeout=2):
            try:
                self._conn.send(("stop", (), {}))
                if self._conn.poll(10):
                    self._conn.recv()
            except (OSError, EOFError):
                pass
            finally:
                self._lock.release()
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()
