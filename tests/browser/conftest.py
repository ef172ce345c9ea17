"""The app as a real HTTP server, the fake Immich, and Debian's Chromium through Playwright.

The map tiles come from a tiny route in front of the app (a blank 256x256 PNG), so no test
reaches the internet. Playwright never downloads a browser: it drives /usr/bin/chromium.
"""

from __future__ import annotations

import itertools
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from fake_immich import ALICE_KEY, FakeImmich
from tests.conftest import PASSWORD, TEST_KEY, dispose, make_app
from tests.live_server import QuietHandler

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TILE_PREFIX = "/test-tiles/"
ALICE = "alice@example.com"


def blank_tile() -> bytes:
    """A 256x256 PNG: pale land with a faint grid line on two edges, so tiles show as a map."""
    size = 256
    land, line = (232, 236, 230), (214, 220, 214)
    rows = []
    for y in range(size):
        pixels = bytearray()
        for x in range(size):
            pixels.extend(line if x == 0 or y == 0 else land)
        rows.append(b"\x00" + bytes(pixels))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


@dataclass
class LiveServer:
    app: Flask
    url: str
    server: BaseWSGIServer
    thread: threading.Thread
    tile_requests: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()
        dispose(self.app)


def start_server(tmp: Path, **overrides: Any) -> LiveServer:
    """Serve a fresh app (with its own SQLite file) on a free port, in a thread."""
    holder: dict[str, Any] = {}
    tile = blank_tile()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(TILE_PREFIX):
            holder["live"].tile_requests.append(path)
            start_response(
                "200 OK",
                [("Content-Type", "image/png"), ("Content-Length", str(len(tile))), ("Cache-Control", "max-age=3600")],
            )
            return [tile]
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    tmp.mkdir(parents=True, exist_ok=True)
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
        "REDIS_URL": None,
        "SECRET_KEY": "browser-test-secret-key-long-enough-for-hmac",
        "JWT_SECRET_KEY": "browser-test-jwt-secret-key-long-enough-for-hs256",
        "ENCRYPTION_KEYS": TEST_KEY,
        "ALLOWED_IMMICH_HOSTS": "loopback,private,external",
        "TILE_URL": url + TILE_PREFIX + "{z}/{x}/{y}.png",
        "TILE_ATTRIBUTION": "Test tiles",
        # Every search goes to the fake, so switching its faults on shows at once.
        "SEARCH_CACHE_SECONDS": 0,
        **overrides,
    }
    app = make_app(settings)
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    live = LiveServer(app=app, url=url, server=server, thread=thread)
    holder["live"] = live
    thread.start()
    return live


def add_user(app: Flask, email: str, password: str = PASSWORD, name: str | None = None) -> str:
    with app.app_context():
        from service.auth.accounts import create_user

        return str(create_user(email=email, password=password, name=name).id)


def configure_immich(app: Flask, email: str, server_url: str, api_key: str, *, enabled: bool = True) -> None:
    """Store a user's Immich settings through the real API."""
    client = app.test_client()
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    token = login.get_json()["data"]["accessToken"]
    response = client.put(
        "/api/users/me/immich-config",
        json={"serverUrl": server_url, "apiKey": api_key, "enabled": enabled},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.get_json()


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeImmich]:
    fake = FakeImmich().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, fake: FakeImmich) -> Iterator[LiveServer]:
    """One app for the session, with alice signed up and pointed at the fake Immich."""
    live = start_server(tmp_path_factory.mktemp("browser-app"))
    add_user(live.app, ALICE, name="Alice")
    configure_immich(live.app, ALICE, fake.url, ALICE_KEY)
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def healthy_fake(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that breaks the fake Immich leaves it healthy for the next one."""
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").set_fault(None)


_emails = itertools.count(1)


@pytest.fixture
def new_user(live_server: LiveServer) -> str:
    """A fresh account with no Immich settings."""
    email = f"user{next(_emails)}@example.com"
    add_user(live_server.app, email)
    return email


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """What the browser complained about: CSP refusals and uncaught script errors."""

    csp: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def on_page_error(self, error: Any) -> None:
        self.errors.append(str(error))


def new_context(browser: Browser, base_url: str, problems: PageProblems, **options: Any) -> BrowserContext:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "viewport": {"width": 1280, "height": 800},
        "timezone_id": "UTC",
        "locale": "en-GB",
        "accept_downloads": True,
    }
    settings.update(options)
    context = browser.new_context(**settings)
    context.set_default_timeout(10_000)
    context.on("console", problems.on_console)
    context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
    return context


@pytest.fixture
def problems() -> Iterator[PageProblems]:
    found = PageProblems()
    yield found
    assert not found.csp, f"Content-Security-Policy refused something: {found.csp}"
    assert not found.errors, f"uncaught script errors: {found.errors}"


@pytest.fixture
def context(browser: Browser, live_server: LiveServer, problems: PageProblems) -> Iterator[BrowserContext]:
    context = new_context(browser, live_server.url, problems)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer, problems: PageProblems) -> Iterator[BrowserContext]:
    """Alice, signed in on a phone-sized touch screen."""
    context = new_context(
        browser,
        live_server.url,
        problems,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    sign_in(context)
    yield context
    context.close()


def sign_in(context: BrowserContext, email: str = ALICE) -> None:
    """Sign in through the API; the cookies land in the browser context."""
    response = context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})
    assert response.ok, response.text()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
