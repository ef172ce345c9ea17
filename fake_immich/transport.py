"""HTTP plumbing of the fake Immich: a threaded server that behaves like Node's.

One thread per connection, tracked so a stop or a ``down`` fault can cut them all; idle
keep-alive connections are closed after ``keep_alive_timeout`` seconds, as Node does after 5;
every request is parsed once into a ``ParsedRequest`` and recorded before it is answered.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .responses import Reply

IO_TIMEOUT = 60.0  # socket timeout while a request is being read or answered


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: object | None
    body: bytes = b""
    status: int | None = None
    at: float = field(default_factory=time.time)
    endpoint: str | None = None  # the route it reached, e.g. "/api/assets/{id}/thumbnail"


class RequestLog:
    """Every request the fake received, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._items.append(rec)

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def counts(self) -> Counter[str]:
        """Requests per endpoint, e.g. ``"GET /api/assets/{id}/thumbnail"``; unrouted ones by path."""
        with self._lock:
            return Counter(f"{r.method} {r.endpoint or r.path}" for r in self._items)


class ParsedRequest:
    """One request as the routes see it: its parts, its JSON body and its log entry."""

    __slots__ = (
        "method",
        "path",
        "raw",
        "query",
        "pairs",
        "headers",
        "body",
        "json",
        "json_error",
        "rec",
        "head",
        "operation",
        "params",
    )

    def __init__(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.head = method == "HEAD"
        split = urlsplit(raw_path)
        self.raw = raw_path
        self.path = unquote(split.path)
        self.pairs = parse_qsl(split.query, keep_blank_values=True)
        self.query: dict[str, str] = {}
        for k, v in self.pairs:
            self.query.setdefault(k, v)
        self.headers = headers
        self.body = body
        self.json: Any = None
        self.json_error: str | None = None
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media == "application/json" and method not in ("GET", "HEAD"):
            text = body.decode("utf-8", "replace")
            if text.strip():
                try:
                    self.json = json.loads(text)
                    if not isinstance(self.json, dict | list):
                        self.json_error = f"Unexpected token in JSON at position 0: {text[:20]!r}"
                except json.JSONDecodeError as e:
                    self.json_error = f"{e.msg} in JSON at position {e.pos}"
            else:
                self.json = {}
        self.rec = RecordedRequest(
            method=method,
            path=self.path,
            query=dict(self.query),
            headers=dict(headers),
            json=self.json,
            body=body,
        )
        self.operation = ""
        self.params: dict[str, str] = {}


Dispatch = Callable[[Any, ParsedRequest, Reply], None]


class ConnectionTrackingServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that remembers each connection's thread, so they can be cut."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, fake: Any, listener: Listener, dispatch: Dispatch) -> None:
        self.fake = fake
        self.listener = listener
        self.dispatch = dispatch
        super().__init__(address, RequestHandler)

    def process_request(self, request, client_address):
        t = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"fake-immich-conn-{client_address[1]}",
            daemon=True,
        )
        self.listener.track(request, t)
        t.start()

    def _serve_connection(self, request, client_address):
        try:
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - a broken client must not disturb the tests
                pass
            finally:
                try:
                    self.shutdown_request(request)
                except OSError:
                    pass
        finally:
            self.listener.untrack(request)

    def handle_error(self, request, client_address):
        pass


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ConnectionTrackingServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Node does
        self.connection.settimeout(self.server.fake.keep_alive_timeout or None)

    def handle_one_request(self) -> None:
        try:
            # Node closes a keep-alive connection that stays idle for 5 seconds.
            self.connection.settimeout(self.server.fake.keep_alive_timeout or None)
            super().handle_one_request()
        except OSError:
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def do_GET(self):
        self._answer("GET")

    def do_HEAD(self):
        self._answer("HEAD")

    def do_POST(self):
        self._answer("POST")

    def do_PUT(self):
        self._answer("PUT")

    def do_DELETE(self):
        self._answer("DELETE")

    def do_PATCH(self):
        self._answer("PATCH")

    def do_OPTIONS(self):
        self._answer("OPTIONS")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, method: str) -> None:
        fake = self.server.fake
        try:
            self.connection.settimeout(IO_TIMEOUT)
            headers: dict[str, str] = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = f"{headers[k]}, {v}" if k in headers else v
            try:
                body = self._read_body()
            except ValueError:  # unparsable Content-Length or chunk size
                self.close_connection = True
                self.send_error(400, "Bad Request")
                return
            request = ParsedRequest(method, self.path, headers, body)
            fake.request_log.append(request.rec)

            delay = fake.latency or 0.0
            if fake.fault == "slow":
                delay += fake.slow_seconds
            if delay > 0:
                self.server.listener.sleep(delay)
            self.server.dispatch(fake, request, Reply(self, request, fake))
        except OSError:
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - report as a 500, keep serving
            fake.errors.append(exc)
            self.close_connection = True
            try:
                self.send_response_only(500)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
            except OSError:
                pass


class Listener:
    """Binds the server to its port and unbinds it again (a stop, or the ``down`` fault)."""

    def __init__(self, fake: Any, dispatch: Dispatch) -> None:
        self._fake = fake
        self._dispatch = dispatch
        self._conn_lock = threading.Lock()
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._interrupt = threading.Event()
        self._server: ConnectionTrackingServer | None = None
        self._thread: threading.Thread | None = None

    def track(self, sock: socket.socket, thread: threading.Thread) -> None:
        with self._conn_lock:
            self._conns[sock] = thread

    def untrack(self, sock: socket.socket) -> None:
        with self._conn_lock:
            self._conns.pop(sock, None)

    @property
    def open_connections(self) -> int:
        with self._conn_lock:
            return len(self._conns)

    def sleep(self, seconds: float) -> None:
        """Wait, but wake up at once when the server is unbound."""
        self._interrupt.wait(seconds)

    def bind(self, host: str, port: int) -> int:
        server = ConnectionTrackingServer((host, port), self._fake, self, self._dispatch)
        bound = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-immich-{bound}",
            daemon=True,
        )
        self._thread.start()
        return bound

    def unbind(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)
        self._interrupt.set()
        with self._conn_lock:
            conns = list(self._conns.items())
        for sock, _t in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for _sock, t in conns:
            t.join(max(0.0, deadline - time.monotonic()))
        self._interrupt = threading.Event()
