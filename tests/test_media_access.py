"""Thumbnails and originals check sign-in on a lean path of their own: it must refuse and
accept exactly what every other route does, with the same words, token after token."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from fake_immich import ALICE_KEY
from service.extensions import db
from service.models import User
from tests.conftest import Auth, configure, dispose, error_of, make_app

RANGE = "startDate=2024-01-01T00:00:00Z&endDate=2024-12-31T23:59:59Z"


@pytest.fixture
def alice(app, client, auth, own_fake):
    """Alice signed in (bearer and cookies), her settings on a fake with three photos: her
    tokens and the URLs of one photo's thumbnail, preview and original."""
    own_fake.add_bulk_assets(ALICE_KEY, 3, start="2024-03-01T00:00:00Z", end="2024-03-02T00:00:00Z")
    auth.register()
    tokens = auth.login()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    configure(client, headers, own_fake)
    photo = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers).get_json()["data"]["photos"][0]
    urls = [photo["thumbnailUrl"], photo["thumbnailUrl"] + "?size=preview", photo["downloadUrl"]]
    return tokens, urls


def forged(app, **claims):
    now = datetime.now(UTC)
    body = {"sub": "00000000-0000-0000-0000-000000000000", "iat": now, "nbf": now, "exp": now + timedelta(minutes=5),
            "type": "access", "fresh": False, "jti": "x", "sid": "s", **claims}
    return pyjwt.encode(body, app.config["JWT_SECRET_KEY"], algorithm="HS256")


def without_session(app, user_id):
    claims = {"sub": user_id, "type": "access", "exp": 2**40, "iat": 1, "jti": "x"}
    return pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")


def answers(client, url, headers):
    response = client.get(url, headers=headers)
    return response.status_code, error_of(response) if response.status_code >= 400 else None


def test_media_refuses_each_bad_token_as_every_other_route_does(app, client, alice):
    tokens, urls = alice
    client.delete_cookie("access_token_cookie")
    user_id = tokens["user"]["id"]
    header, payload, signature = tokens["accessToken"].split(".")
    expired = forged(app, sub=user_id, exp=datetime.now(UTC) - timedelta(seconds=5))
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    cases = {
        "missing": {},
        "malformed": {"Authorization": "Bearer not.a.token"},
        "two bearers": {"Authorization": f"Bearer {tokens['accessToken']}, Bearer x"},
        "wrong scheme": {"Authorization": f"Basic {tokens['accessToken']}"},
        "alg none": {"Authorization": f"Bearer {none_header}.{payload}."},
        "tampered": {"Authorization": f"Bearer {header}.{payload}x.{signature}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "refresh as access": {"Authorization": f"Bearer {tokens['refreshToken']}"},
        "no session claim": {"Authorization": f"Bearer {without_session(app, user_id)}"},
        "unknown user": {"Authorization": f"Bearer {forged(app)}"},
        "not a user id": {"Authorization": f"Bearer {forged(app, sub='alice')}"},
    }
    for name, headers in cases.items():
        expected = answers(client, f"/api/users/me/immich/photos/search?{RANGE}", headers)
        assert expected[0] == 401, name
        for url in urls:
            assert answers(client, url, headers) == expected, (name, url)
    assert answers(client, urls[0], cases["expired"])[1] == "Token has expired"


def test_a_token_accepted_once_is_refused_after_logout_on_bearer_and_cookie(client, alice):
    tokens, urls = alice
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    for url in urls:
        assert client.get(url, headers=bearer).status_code == 200
        assert client.get(url).status_code == 200  # the access cookie alone: a GET needs no CSRF header
    csrf = {"X-CSRF-TOKEN": client.get_cookie("csrf_access_token").value}
    cookie_token = client.get_cookie("access_token_cookie").value
    assert client.post("/api/auth/logout", headers=csrf).status_code == 200
    client.set_cookie("access_token_cookie", cookie_token)  # kept by a client that ignores the logout
    for url in urls:
        for headers in (bearer, {}):
            response = client.get(url, headers=headers)
            assert (response.status_code, error_of(response)) == (401, "Token has been revoked"), url


def test_a_deleted_account_and_another_users_photos_are_refused(app, client, alice, auth):
    tokens, urls = alice
    client.delete_cookie("access_token_cookie")
    bob = auth.bearer("bob@example.com")
    alice_id = tokens["user"]["id"]
    others = [url.replace("/users/me/", f"/users/{alice_id}/") for url in urls]
    for url in others:
        response = client.get(url, headers=bob)
        assert response.status_code == 403 and "your own" in error_of(response)
    alice_bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert all(client.get(url, headers=alice_bearer).status_code == 200 for url in others)
    with app.app_context():
        db.session.delete(db.session.get(User, uuid.UUID(alice_id)))
        db.session.commit()
    for url in urls:
        response = client.get(url, headers=alice_bearer)
        assert (response.status_code, error_of(response)) == (401, "This account no longer exists")


def test_a_kept_token_still_expires(settings, own_fake):
    app = make_app({**settings, "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=2)})
    client = app.test_client()
    own_fake.add_bulk_assets(ALICE_KEY, 1, start="2024-03-01T00:00:00Z", end="2024-03-02T00:00:00Z")
    headers = Auth(app, client).bearer()
    client.delete_cookie("access_token_cookie")
    configure(client, headers, own_fake)
    photo = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers).get_json()["data"]["photos"][0]
    assert client.get(photo["thumbnailUrl"], headers=headers).status_code == 200
    time.sleep(2.5)
    response = client.get(photo["thumbnailUrl"], headers=headers)
    assert (response.status_code, error_of(response)) == (401, "Token has expired")
    dispose(app)
