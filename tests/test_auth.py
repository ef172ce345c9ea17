"""Accounts and tokens through the real API: bearer and cookie paths, revocation, throttling."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from tests.conftest import PASSWORD, dispose, error_of, make_app


def cookie(client, name):
    found = client.get_cookie(name, path="/") or client.get_cookie(name, path="/api/auth/refresh")
    return found.value if found else None


def test_first_account_is_admin_and_registration_then_closes(client, auth):
    first = auth.register("Alice@Example.com ", name="Alice")
    assert first["role"] == "ADMIN" and first["email"] == "alice@example.com"
    assert set(first) == {"id", "email", "name", "role"}

    response = client.post("/api/auth/register", json={"email": "bob@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "closed" in error_of(response)


def test_open_registration_makes_users_and_refuses_duplicates(settings):
    app = make_app({**settings, "REGISTRATION_OPEN": "true"})
    client = app.test_client()
    client.post("/api/auth/register", json={"email": "alice@example.com", "password": PASSWORD})
    second = client.post("/api/auth/register", json={"email": "bob@example.com", "password": PASSWORD})
    assert second.status_code == 201 and second.get_json()["data"]["role"] == "USER"
    again = client.post("/api/auth/register", json={"email": "BOB@example.com", "password": PASSWORD})
    assert again.status_code == 409
    assert "already exists" in error_of(again)
    dispose(app)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": 5, "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "name": ["x"]}, "name"),
        ({"email": "a@example.com", "password": PASSWORD, "name": "nul\x00name"}, "name"),
        ({"email": "a\x00@example.com", "password": PASSWORD}, "email"),
    ],
)
def test_register_rejects_bad_bodies(client, body, field):
    response = client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert field in error_of(response)
    assert client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"text"', b"\xff\xfe"])
def test_register_rejects_non_object_json(client, raw):
    response = client.post("/api/auth/register", data=raw, content_type="application/json")
    assert response.status_code == 400
    error_of(response)


def test_login_me_refresh_logout_with_bearer(client, auth):
    auth.register()
    tokens = auth.login()
    assert tokens["user"]["email"] == "alice@example.com"
    access = {"Authorization": f"Bearer {tokens['accessToken']}"}
    refresh = {"Authorization": f"Bearer {tokens['refreshToken']}"}
    client.delete_cookie("access_token_cookie")

    me = client.get("/api/users/me", headers=access)
    assert me.status_code == 200
    assert me.get_json() == {"success": True, "data": tokens["user"]}

    renewed = client.post("/api/auth/refresh", headers=refresh)
    assert renewed.status_code == 200
    new_access = {"Authorization": f"Bearer {renewed.get_json()['data']['accessToken']}"}
    assert client.get("/api/users/me", headers=new_access).status_code == 200

    assert client.post("/api/auth/logout", headers=access).status_code == 200
    for headers, path in [(access, "/api/users/me"), (new_access, "/api/users/me")]:
        response = client.get(path, headers=headers)
        assert response.status_code == 401 and "revoked" in error_of(response)
    response = client.post("/api/auth/refresh", headers=refresh)
    assert response.status_code == 401 and "revoked" in error_of(response)


def test_wrong_password_and_unknown_email_say_the_same(client, auth):
    auth.register()
    wrong = client.post("/api/auth/login", json={"email": "alice@example.com", "password": "wrong password"})
    unknown = client.post("/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert error_of(wrong) == error_of(unknown) == "Invalid email or password"


def test_cookie_session_needs_the_csrf_header_to_change_state(client, auth):
    auth.register()
    auth.login()  # sets the HttpOnly cookies
    assert client.get_cookie("access_token_cookie").http_only
    assert client.get("/api/users/me").status_code == 200  # reads need no CSRF header

    body = {"serverUrl": "http://127.0.0.1:9", "apiKey": "k", "enabled": True}
    without = client.put("/api/users/me/immich-config", json=body)
    assert without.status_code == 401 and "CSRF" in error_of(without)
    assert client.delete("/api/users/me/immich-config").status_code == 401
    wrong = client.put("/api/users/me/immich-config", json=body, headers={"X-CSRF-TOKEN": "nope"})
    assert wrong.status_code == 401

    csrf = {"X-CSRF-TOKEN": cookie(client, "csrf_access_token")}
    assert client.put("/api/users/me/immich-config", json=body, headers=csrf).status_code == 200
    assert client.get("/api/users/me/immich-config").get_json()["data"]["serverUrl"] == "http://127.0.0.1:9"

    refresh_csrf = {"X-CSRF-TOKEN": cookie(client, "csrf_refresh_token")}
    assert client.post("/api/auth/refresh").status_code == 401
    assert client.post("/api/auth/refresh", headers=refresh_csrf).status_code == 200

    # The refreshed access cookie comes with its own CSRF value.
    assert client.post("/api/auth/logout", headers=csrf).status_code == 401
    csrf = {"X-CSRF-TOKEN": cookie(client, "csrf_access_token")}
    assert client.post("/api/auth/logout", headers=csrf).status_code == 200
    assert cookie(client, "access_token_cookie") is None
    assert client.get("/api/users/me").status_code == 401


def _forged(app, **changes):
    now = datetime.now(UTC)
    claims = {"sub": "00000000-0000-0000-0000-000000000000", "iat": now, "nbf": now,
              "exp": now + timedelta(minutes=5), "type": "access", "fresh": False,
              "jti": "x", "sid": "s"}
    claims.update(changes.pop("claims", {}))
    key = changes.pop("key", app.config["JWT_SECRET_KEY"])
    return pyjwt.encode(claims, key, algorithm=changes.pop("algorithm", "HS256"))


def test_bad_tokens_are_401_in_the_envelope(app, client, auth):
    auth.register()
    tokens = auth.login()
    client.delete_cookie("access_token_cookie")
    user_id = tokens["user"]["id"]
    header, payload, _sig = tokens["accessToken"].split(".")
    import base64
    import json

    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    cases = {
        "missing": None,
        "malformed": "not.a.token",
        "garbage": "abc",
        "alg none": f"{none_header}.{payload}.",
        "other key": _forged(app, key="another-secret-key-that-is-long-enough-32b", claims={"sub": user_id}),
        "expired": _forged(app, claims={"sub": user_id, "exp": datetime.now(UTC) - timedelta(seconds=5)}),
        "refresh as access": tokens["refreshToken"],
        "tampered": f"{header}.{payload}x.{_sig}",
    }
    for name, token in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.get("/api/users/me", headers=headers)
        assert response.status_code == 401, name
        message = error_of(response)
        assert token is None or token not in message, name

    expired = client.get("/api/users/me", headers={"Authorization": f"Bearer {cases['expired']}"})
    assert error_of(expired) == "Token has expired"
    wrong_scheme = client.get("/api/users/me", headers={"Authorization": f"Basic {tokens['accessToken']}"})
    assert wrong_scheme.status_code == 401


def test_access_token_expires(settings, auth):
    app = make_app({**settings, "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=1)})
    client = app.test_client()
    from tests.conftest import Auth

    headers = Auth(app, client).bearer()
    client.delete_cookie("access_token_cookie")
    assert client.get("/api/users/me", headers=headers).status_code == 200
    time.sleep(2.1)
    response = client.get("/api/users/me", headers=headers)
    assert response.status_code == 401 and error_of(response) == "Token has expired"
    dispose(app)


def test_logout_holds_after_restart_and_across_processes(settings):
    first = make_app(settings)
    client = first.test_client()
    from tests.conftest import Auth

    helper = Auth(first, client)
    helper.register()
    tokens = helper.login()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    client.delete_cookie("access_token_cookie")

    second = make_app(settings, migrate=False)  # another process on the same database
    other = second.test_client()
    assert other.get("/api/users/me", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    assert other.get("/api/users/me", headers=headers).status_code == 401
    dispose(first)

    restarted = make_app(settings, migrate=False)
    again = restarted.test_client()
    assert again.get("/api/users/me", headers=headers).status_code == 401
    refresh = {"Authorization": f"Bearer {tokens['refreshToken']}"}
    assert again.post("/api/auth/refresh", headers=refresh).status_code == 401
    dispose(second)
    dispose(restarted)


def test_failed_logins_are_throttled_per_account(client, auth):
    auth.register()
    bad = {"email": "alice@example.com", "password": "wrong password"}
    for attempt in range(10):
        headers = {"X-Forwarded-For": f"10.0.0.{attempt}"}  # ignored: TRUSTED_PROXIES is 0
        assert client.post("/api/auth/login", json=bad, headers=headers).status_code == 401
    blocked = client.post("/api/auth/login", json=bad)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "try again later" in error_of(blocked)
    # Even the right password waits: that is what stops guessing.
    right = client.post("/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert right.status_code == 429


def test_failed_logins_are_throttled_per_address_across_accounts(client, auth):
    auth.register()
    for attempt in range(10):
        body = {"email": f"guess{attempt}@example.com", "password": "wrong password"}
        assert client.post("/api/auth/login", json=body).status_code == 401
    body = {"email": "alice@example.com", "password": PASSWORD}
    assert client.post("/api/auth/login", json=body).status_code == 429
    other_address = client.post("/api/auth/login", json=body, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_address.status_code == 200


def test_successful_logins_do_not_count(client, auth):
    auth.register()
    for _ in range(12):
        auth.login()


def test_registration_is_limited_per_address(settings):
    app = make_app({**settings, "REGISTRATION_OPEN": "true", "REGISTRATION_RATE_LIMIT": "3 per hour"})
    client = app.test_client()
    statuses = [
        client.post("/api/auth/register", json={"email": f"u{n}@example.com", "password": "x"}).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    dispose(app)


@pytest.mark.real_passwords
def test_passwords_are_stored_as_argon2id_at_its_recommended_parameters(app, auth):
    auth.register()
    from sqlalchemy import text

    with app.app_context():
        from service.extensions import db

        stored = db.session.execute(text("SELECT password_hash FROM users")).scalar_one()
    # RFC 9106's second recommendation: 64 MiB, three passes, four lanes.
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    assert auth.login()["accessToken"]


def sign_ups_at_once(apps, count=12):
    """`count` sign-ups at the same moment, spread over `apps` (processes on one database)."""
    barrier = threading.Barrier(count)

    def sign_up(n):
        client = apps[n % len(apps)].test_client()
        barrier.wait()
        response = client.post("/api/auth/register", json={"email": f"user{n}@example.com", "password": PASSWORD})
        return response.status_code, (response.get_json() or {}).get("data")

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(sign_up, range(count)))


def test_of_simultaneous_first_sign_ups_exactly_one_becomes_the_admin(settings):
    first = make_app(settings)
    second = make_app(settings, migrate=False)  # another process on the same database
    results = sign_ups_at_once([first, second])
    created = [data for status, data in results if status == 201]
    assert len(created) == 1 and created[0]["role"] == "ADMIN", results
    assert sorted(status for status, _ in results) == [201] + [403] * 11
    with first.app_context():
        from service.extensions import db
        from service.models import User

        assert db.session.query(User).count() == 1
    dispose(first)
    dispose(second)


def test_with_registration_open_simultaneous_sign_ups_make_one_admin(settings):
    first = make_app({**settings, "REGISTRATION_OPEN": "true"})
    second = make_app({**settings, "REGISTRATION_OPEN": "true"}, migrate=False)
    results = sign_ups_at_once([first, second])
    assert [status for status, _ in results] == [201] * 12
    assert sorted(data["role"] for _, data in results) == ["ADMIN"] + ["USER"] * 11
    dispose(first)
    dispose(second)


def test_the_first_account_is_first_for_ever(app, client, auth):
    admin = auth.register()
    with app.app_context():
        from service.extensions import db
        from service.models import User

        db.session.query(User).delete()
        db.session.commit()
    again = client.post("/api/auth/register", json={"email": "mallory@example.com", "password": PASSWORD})
    assert again.status_code == 403, admin


def test_a_stranger_guessing_cannot_lock_the_owner_out(client, auth):
    auth.register()
    stranger = {"REMOTE_ADDR": "203.0.113.9"}
    bad = {"email": "alice@example.com", "password": "wrong password"}
    statuses = [client.post("/api/auth/login", json=bad, environ_base=stranger).status_code for _ in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    owner = client.post("/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert owner.status_code == 200


def test_guessing_spread_over_many_addresses_meets_the_account_ceiling(settings):
    app = make_app({**settings, "LOGIN_ACCOUNT_RATE_LIMIT": "25 per 15 minutes"})
    client = app.test_client()
    from tests.conftest import Auth

    Auth(app, client).register()
    bad = {"email": "alice@example.com", "password": "wrong password"}
    for n in range(25):
        address = {"REMOTE_ADDR": f"203.0.113.{n % 5}"}
        assert client.post("/api/auth/login", json=bad, environ_base=address).status_code == 401
    ceiling = client.post("/api/auth/login", json=bad, environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert ceiling.status_code == 429 and int(ceiling.headers["Retry-After"]) > 0
    # Someone else's account, from those same addresses, is untouched.
    Auth(app, client).add_user("bob@example.com")
    bob = client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "203.0.113.1"})
    assert bob.status_code == 200
    dispose(app)


def test_sign_in_limits_are_settings_with_defaults(tmp_path):
    from service import create_app
    from service.config import ConfigError, RateLimit

    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    assert app.config["LOGIN_RATE_LIMIT"] == RateLimit(10, 900)
    assert app.config["LOGIN_ACCOUNT_RATE_LIMIT"] == RateLimit(100, 900)
    dispose(app)
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT", "REGISTRATION_RATE_LIMIT"):
        with pytest.raises(ConfigError, match=name):
            create_app({"INSTANCE_PATH": str(tmp_path), name: "ten a minute"})


@pytest.mark.parametrize("missing", ["exp", "type", "jti", "sid", "sub", "iat"])
def test_a_token_signed_with_our_key_but_missing_a_claim_is_refused(app, client, auth, missing):
    auth.register()
    user_id = auth.login()["user"]["id"]
    client.delete_cookie("access_token_cookie")
    complete = _forged(app, claims={"sub": user_id, "jti": "a-jti"})
    assert client.get("/api/users/me", headers={"Authorization": f"Bearer {complete}"}).status_code == 200
    claims = pyjwt.decode(complete, options={"verify_signature": False})
    del claims[missing]
    token = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    response = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and error_of(response) == "Invalid token"


def test_a_token_of_an_unknown_type_is_refused(app, client, auth):
    auth.register()
    user_id = auth.login()["user"]["id"]
    client.delete_cookie("access_token_cookie")
    for bad in ({"type": "id"}, {"exp": "never"}, {"sid": 7}):
        token = _forged(app, claims={"sub": user_id, **bad})
        assert client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401, bad
