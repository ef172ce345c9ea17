"""Sign-in by a trusted proxy's header: believed only from the proxies' own addresses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from service.auth.trusted_header import is_trusted_peer
from service.config import _networks
from tests.conftest import Auth, dispose, make_app

PROXY = "10.0.0.2"


@pytest.fixture
def header_app(settings: dict[str, Any]) -> Iterator[Flask]:
    app = make_app({**settings, "TRUSTED_HEADER_AUTH": "Remote-User", "TRUSTED_PROXY_ADDRESSES": f"{PROXY},::1",
                    "TRUSTED_PROXIES": "1"})
    yield app
    dispose(app)


def visit(app: Flask, peer: str, **headers: str) -> Any:
    client = app.test_client()
    response = client.get("/auth/header/login", headers=headers, environ_base={"REMOTE_ADDR": peer})
    return client, response


def test_the_proxy_signs_in_an_existing_account(header_app: Flask, auth: Auth) -> None:
    auth.add_user("alice@example.com")
    client, response = visit(header_app, PROXY, **{"Remote-User": "Alice@Example.com"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/api/users/me").get_json()["data"]["email"] == "alice@example.com"


def test_the_header_from_anyone_else_is_ignored_and_logged_without_its_value(
        header_app: Flask, auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    auth.add_user("alice@example.com")
    caplog.set_level(logging.INFO)
    # A client that claims, through X-Forwarded-For, to be the proxy is still not the proxy.
    client, response = visit(header_app, "203.0.113.9",
                             **{"Remote-User": "alice@example.com", "X-Forwarded-For": PROXY})
    assert response.status_code == 302 and response.headers["Location"] == "/login?error=untrusted_proxy"
    assert client.get("/api/users/me").status_code == 401
    refusals = [r for r in caplog.records if "not from a trusted proxy" in r.getMessage()]
    assert len(refusals) == 1
    assert all("alice@example.com" not in r.getMessage() for r in caplog.records)
    page = client.get("/login?error=untrusted_proxy").get_data(as_text=True)
    assert "not available from here" in page


def test_unknown_emails_and_a_missing_header(header_app: Flask, auth: Auth) -> None:
    _, response = visit(header_app, PROXY, **{"Remote-User": "nobody@example.com"})
    assert response.headers["Location"] == "/login?error=no_account"
    _, response = visit(header_app, "::1")
    assert response.headers["Location"] == "/login?error=no_proxy_user"


def test_auto_register_creates_the_account(settings: dict[str, Any]) -> None:
    app = make_app({**settings, "TRUSTED_HEADER_AUTH": "Remote-User", "TRUSTED_HEADER_AUTO_REGISTER": "true"})
    try:
        client, response = visit(app, "127.0.0.1", **{"Remote-User": "new@example.com"})
        assert response.headers["Location"] == "/"
        assert client.get("/api/users/me").get_json()["data"] == {
            **client.get("/api/users/me").get_json()["data"], "email": "new@example.com", "role": "ADMIN"}
    finally:
        dispose(app)


def test_off_unless_configured(client: Any) -> None:
    assert client.get("/auth/header/login", headers={"Remote-User": "a@example.com"}).status_code == 404
    assert client.get("/auth/oidc/login").status_code == 404


def test_the_login_page_goes_to_the_header_sign_in(header_app: Flask) -> None:
    page = header_app.test_client().get("/login").get_data(as_text=True)
    assert '"headerLogin":"/auth/header/login"' in page.replace(" ", "")


@pytest.mark.parametrize(("peer", "trusted"), [
    ("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("127.0.0.2", False),
    ("10.0.0.1", False), ("", False), (None, False), ("not an address", False),
])
def test_which_peers_are_trusted(peer: str | None, trusted: bool) -> None:
    assert is_trusted_peer(peer, _networks("TRUSTED_PROXY_ADDRESSES", "127.0.0.1,::1")) is trusted
