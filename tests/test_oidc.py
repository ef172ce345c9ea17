"""OpenID Connect sign-in against a real provider: oidc-provider-mock, started by the tests as
its own process on a free loopback port. The browser's part (following redirects, the
provider's consent form) is played by the Flask test client and `requests`."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from service.auth.oidc import InvalidIdToken, verify_id_token
from tests.conftest import PASSWORD, Auth, dispose, make_app

CLIENT_ID = "photo-atlas"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The provider's issuer URL; the process is stopped after the module."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(issuer + "/.well-known/openid-configuration", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the OIDC provider did not start") from None
            time.sleep(0.2)
    yield issuer
    proc.terminate()
    proc.wait(10)


def set_identity(issuer: str, sub: str, **claims: Any) -> None:
    requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()


def make_oidc_app(settings: dict[str, Any], issuer: str, **extra: Any) -> Flask:
    return make_app({**settings, "OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                     "OIDC_CLIENT_SECRET": "client-secret", **extra})


@pytest.fixture
def oidc_app(settings: dict[str, Any], provider: str) -> Iterator[Flask]:
    app = make_oidc_app(settings, provider)
    yield app
    dispose(app)


def start(client: FlaskClient) -> str:
    """Our login route: the provider's authorization URL it redirects to."""
    response = client.get("/auth/oidc/login")
    assert response.status_code == 302
    return str(response.headers["Location"])


def consent(authorize_url: str, sub: str) -> str:
    """The user picks `sub` on the provider's form; the callback URL it sends the browser to."""
    response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text[:300]
    return str(response.headers["Location"])


def finish(client: FlaskClient, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: FlaskClient, sub: str) -> Any:
    return finish(client, consent(start(client), sub))


def error_code(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    return parse_qs(location.query)["error"][0]


def test_the_authorization_request_uses_pkce_state_and_nonce(oidc_app: Flask, provider: str) -> None:
    client = oidc_app.test_client()
    url = urlsplit(start(client))
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == provider
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["openid email profile"]
    cookie = client.get_cookie("oidc_flow", path="/auth/oidc/")
    assert cookie is not None and cookie.http_only and query["state"][0] not in cookie.value


def test_sign_in_end_to_end_gives_the_same_session_as_a_password_login(
        oidc_app: Flask, provider: str, auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = oidc_app.test_client()
    with oidc_app.app_context():
        from service.auth.accounts import create_user

        create_user(email="alice@example.com", password=PASSWORD)
    set_identity(provider, "alice-sub", email="alice@example.com", email_verified=True)
    response = sign_in(client, "alice-sub")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    me = client.get("/api/users/me")
    assert me.status_code == 200 and me.get_json()["data"]["email"] == "alice@example.com"
    csrf = client.get_cookie("csrf_refresh_token")
    assert csrf is not None
    assert client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf.value}).status_code == 200
    access_csrf = client.get_cookie("csrf_access_token")
    assert access_csrf is not None
    assert client.post("/api/auth/logout", headers={"X-CSRF-TOKEN": access_csrf.value}).status_code == 200
    assert client.get("/api/users/me").status_code == 401
    # Linked by the provider's subject now: a later change of email at the provider keeps the account.
    set_identity(provider, "alice-sub", email="alice@new.example", email_verified=True)
    assert sign_in(client, "alice-sub").headers["Location"] == "/"
    assert client.get("/api/users/me").get_json()["data"]["email"] == "alice@example.com"
    for record in caplog.records:
        assert "eyJ" not in record.getMessage()


def test_an_unverified_email_links_nothing(oidc_app: Flask, provider: str, auth: Auth) -> None:
    auth.add_user("bob@example.com")
    set_identity(provider, "bob-sub", email="bob@example.com", email_verified=False)
    client = oidc_app.test_client()
    assert error_code(sign_in(client, "bob-sub")) == "unverified_email"
    assert client.get("/api/users/me").status_code == 401
    page = client.get("/login?error=unverified_email").get_data(as_text=True)
    assert "has not verified your email" in page


def test_no_account_and_no_auto_register(oidc_app: Flask, provider: str) -> None:
    set_identity(provider, "carol-sub", email="carol@example.com", email_verified=True)
    client = oidc_app.test_client()
    assert error_code(sign_in(client, "carol-sub")) == "no_account"


def test_auto_register_creates_the_first_admin_then_users(settings: dict[str, Any], provider: str) -> None:
    app = make_oidc_app(settings, provider, OIDC_AUTO_REGISTER="true")
    try:
        for sub, email, role in (("d-sub", "dave@example.com", "ADMIN"), ("e-sub", "erin@example.com", "USER")):
            set_identity(provider, sub, email=email, email_verified=True, name=sub)
            client = app.test_client()
            assert sign_in(client, sub).headers["Location"] == "/"
            assert client.get("/api/users/me").get_json()["data"]["role"] == role
        # Auto-registration needs a verified email too.
        set_identity(provider, "f-sub", email="frank@example.com", email_verified=False)
        assert error_code(sign_in(app.test_client(), "f-sub")) == "unverified_email"
    finally:
        dispose(app)


def test_a_forged_state_is_refused(oidc_app: Flask, provider: str, auth: Auth) -> None:
    auth.add_user("alice@example.com")
    set_identity(provider, "alice-sub", email="alice@example.com", email_verified=True)
    client = oidc_app.test_client()
    callback = consent(start(client), "alice-sub")
    forged = callback.replace("state=", "state=x")
    assert error_code(finish(client, forged)) == "invalid_state"
    # Another browser (no flow cookie) bringing a real answer is refused too.
    other = oidc_app.test_client()
    assert error_code(finish(other, consent(start(client), "alice-sub"))) == "invalid_state"
    assert other.get("/api/users/me").status_code == 401


def test_a_replayed_answer_is_refused(oidc_app: Flask, provider: str, auth: Auth) -> None:
    auth.add_user("alice@example.com")
    set_identity(provider, "alice-sub", email="alice@example.com", email_verified=True)
    client = oidc_app.test_client()
    callback = consent(start(client), "alice-sub")
    assert finish(client, callback).headers["Location"] == "/"
    assert error_code(finish(client, callback)) == "invalid_state"


def test_the_provider_down_is_a_clear_message(settings: dict[str, Any]) -> None:
    app = make_oidc_app(settings, f"http://127.0.0.1:{free_port()}", OIDC_TIMEOUT="2")
    try:
        client = app.test_client()
        assert error_code(client.get("/auth/oidc/login")) == "provider_unavailable"
        page = client.get("/login?error=provider_unavailable")
        assert page.status_code == 200
        assert "could not be reached" in page.get_data(as_text=True)
    finally:
        dispose(app)


def test_password_login_can_be_turned_off(settings: dict[str, Any], provider: str) -> None:
    app = make_oidc_app(settings, provider, PASSWORD_LOGIN="false", OIDC_BUTTON_LABEL="Sign in with Authelia")
    try:
        client = app.test_client()
        response = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
        assert response.status_code == 403 and "turned off" in response.get_json()["error"]
        page = client.get("/login").get_data(as_text=True)
        assert "Sign in with Authelia" in page and '<form id="sign-in-form" class="form" novalidate hidden>' in page
    finally:
        dispose(app)


def test_unknown_error_codes_show_nothing_of_the_url(client: FlaskClient) -> None:
    page = client.get("/login?error=<script>alert(1)</script>").get_data(as_text=True)
    assert "alert(1)" not in page and 'id="sso-error"' not in page


# The ID token's checks, on tokens signed here with a key the test holds.

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
ISSUER = "https://id.example"


def id_token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": now, "exp": now + 300, "nonce": "n",
              **overrides}
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY)


def check(token: str) -> dict[str, Any]:
    keys = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
    return verify_id_token(token, keys=keys, issuer=ISSUER, client_id=CLIENT_ID, nonce="n")


def test_a_good_id_token_passes() -> None:
    assert check(id_token())["sub"] == "s"


@pytest.mark.parametrize("overrides", [
    {"aud": "another-client"},
    {"aud": ["another-client", "third"]},
    {"aud": [CLIENT_ID, "another-client"], "azp": "another-client"},
    {"iss": "https://evil.example"},
    {"exp": int(time.time()) - 3600},
    {"nonce": "replayed"},
    {"nonce": None},
])
def test_id_tokens_that_must_be_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidIdToken):
        check(id_token(**overrides))


def test_a_token_signed_by_another_key_or_with_the_secret_is_refused() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": now, "exp": now + 300, "nonce": "n"}
    with pytest.raises(InvalidIdToken):
        check(jwt.encode({"alg": "RS256", "kid": "k1"}, claims, other))


def test_a_denied_consent_is_a_clear_message(oidc_app: Flask, provider: str) -> None:
    client = oidc_app.test_client()
    response = requests.post(start(client), data={"action": "deny"}, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert error_code(finish(client, response.headers["Location"])) == "provider_refused"
