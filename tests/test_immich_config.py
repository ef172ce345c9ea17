"""Saving, reading and deleting Immich settings; the key encrypted at rest and rotated."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from service.components import components
from service.extensions import db
from tests.conftest import dispose, error_of, make_app

API_KEY = "NmpwrJSULpVPDLzFrO3OdbvvcRXXlaQtM4o4XCFl3kc"
GOOD = {"serverUrl": " http://192.168.1.100:2283/ ", "apiKey": API_KEY, "enabled": True}


def stored_rows(app):
    """The raw rows, as the database holds them (user ids as UUIDs on every backend)."""
    with app.app_context():
        rows = [dict(row._mapping) for row in db.session.execute(text("SELECT * FROM immich_configs"))]
    for row in rows:
        row["user_id"] = uuid.UUID(str(row["user_id"]))
    return rows


def test_save_read_delete_roundtrip(app, client, auth):
    headers = auth.bearer()
    assert client.get("/api/users/me/immich-config", headers=headers).get_json() == {"success": True, "data": None}

    saved = client.put("/api/users/me/immich-config", json=GOOD, headers=headers)
    assert saved.status_code == 200
    assert saved.get_json() == {"success": True, "data": "Immich configuration updated successfully"}

    read = client.get("/api/users/me/immich-config", headers=headers).get_json()["data"]
    assert read["serverUrl"] == "http://192.168.1.100:2283" and read["enabled"] is True
    assert API_KEY not in str(read)

    user_id = client.get("/api/users/me", headers=headers).get_json()["data"]["id"]
    by_id = client.get(f"/api/users/{user_id}/immich-config", headers=headers).get_json()["data"]
    assert by_id == read

    update = {"serverUrl": "https://photos.example.com", "apiKey": "other-key", "enabled": False}
    from service.immich import settings as immich_settings

    components(app).upstreams.resolver = lambda host, port: ["93.184.216.34"]
    assert client.put(f"/api/users/{user_id}/immich-config", json=update, headers=headers).status_code == 200
    assert len(stored_rows(app)) == 1
    assert client.get("/api/users/me/immich-config", headers=headers).get_json()["data"]["enabled"] is False

    assert client.delete("/api/users/me/immich-config", headers=headers).status_code == 200
    assert stored_rows(app) == []
    assert client.get("/api/users/me/immich-config", headers=headers).get_json()["data"] is None
    again = client.delete(f"/api/users/{user_id}/immich-config", headers=headers)
    assert again.status_code == 200  # idempotent
    assert immich_settings is not None


def test_other_users_config_is_403_even_for_admins(client, auth):
    admin = auth.bearer("admin@example.com")  # first account: ADMIN
    other_id = auth.add_user("bob@example.com")
    bob = auth.bearer("bob@example.com")
    assert client.put("/api/users/me/immich-config", json=GOOD, headers=bob).status_code == 200

    for method in ("get", "put", "delete"):
        kwargs = {"json": GOOD} if method == "put" else {}
        response = getattr(client, method)(f"/api/users/{other_id}/immich-config", headers=admin, **kwargs)
        assert response.status_code == 403, method
        error_of(response)
    for ref in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        assert client.get(f"/api/users/{ref}/immich-config", headers=bob).status_code == 403
    # Bob's config is untouched.
    assert client.get("/api/users/me/immich-config", headers=bob).get_json()["data"]["serverUrl"] == "http://192.168.1.100:2283"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"apiKey": API_KEY, "enabled": True}, "serverUrl"),
        ({"serverUrl": "http://192.168.1.100", "enabled": True}, "apiKey"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": API_KEY}, "enabled"),
        ({"serverUrl": "", "apiKey": API_KEY, "enabled": True}, "serverUrl"),
        ({"serverUrl": "   ", "apiKey": API_KEY, "enabled": True}, "serverUrl"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": "  ", "enabled": True}, "apiKey"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": API_KEY, "enabled": "yes"}, "enabled"),
        ({"serverUrl": 12, "apiKey": API_KEY, "enabled": True}, "serverUrl"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": None, "enabled": True}, "apiKey"),
        ({"serverUrl": "ftp://192.168.1.100", "apiKey": API_KEY, "enabled": True}, "http"),
        ({"serverUrl": "http://u:p@192.168.1.100", "apiKey": API_KEY, "enabled": True}, "password"),
        ({"serverUrl": "http://169.254.169.254", "apiKey": API_KEY, "enabled": True}, "can never be used"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": "key\x00", "enabled": True}, "apiKey"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": "two words", "enabled": True}, "apiKey"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": "clé", "enabled": True}, "apiKey"),
        ({"serverUrl": "http://192.168.1.100", "apiKey": "k\r\nX-Evil: 1", "enabled": True}, "apiKey"),
    ],
)
def test_malformed_bodies_are_400_and_store_nothing(app, client, auth, body, field):
    headers = auth.bearer()
    response = client.put("/api/users/me/immich-config", json=body, headers=headers)
    assert response.status_code == 400
    assert field in error_of(response)
    assert stored_rows(app) == []


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b"{bad json", b'{"serverUrl": "\xff"}'])
def test_unparseable_bodies_are_400(app, client, auth, raw):
    response = client.put("/api/users/me/immich-config", data=raw, content_type="application/json",
                          headers=auth.bearer())
    assert response.status_code == 400
    error_of(response)
    assert stored_rows(app) == []


def test_policy_refusal_says_to_ask_the_operator_and_stores_nothing(settings, tmp_path):
    app = make_app({**settings, "ALLOWED_IMMICH_HOSTS": "external"})
    client = app.test_client()
    from tests.conftest import Auth

    headers = Auth(app, client).bearer()
    response = client.put("/api/users/me/immich-config", json=GOOD, headers=headers)
    assert response.status_code == 400
    assert "ask the operator of Photo Atlas to allow it" in error_of(response)
    assert API_KEY not in response.get_data(as_text=True)
    assert stored_rows(app) == []
    dispose(app)


def test_the_key_is_encrypted_and_bound_to_its_owner(app, client, auth):
    alice = auth.bearer("alice@example.com")
    auth.add_user("bob@example.com")
    bob = auth.bearer("bob@example.com")
    assert client.put("/api/users/me/immich-config", json=GOOD, headers=alice).status_code == 200
    bob_body = {**GOOD, "apiKey": "bob-key"}
    assert client.put("/api/users/me/immich-config", json=bob_body, headers=bob).status_code == 200

    rows = stored_rows(app)
    raw = repr(rows)
    assert API_KEY not in raw and "bob-key" not in raw
    import base64

    for row in rows:
        assert API_KEY.encode() not in base64.urlsafe_b64decode(row["api_key_ciphertext"] + "==")

    from service.immich.settings import credentials

    with app.app_context():
        ids = {row["user_id"] for row in rows}
        alice_id = next(uid for uid in ids if credentials(uid).api_key == API_KEY)
        bob_id = next(uid for uid in ids if uid != alice_id)
        # Copy Alice's ciphertext onto Bob's row: it must not decrypt for Bob.
        alice_cipher = next(r["api_key_ciphertext"] for r in rows if r["user_id"] == alice_id)
        from service.models import ImmichConfig

        db.session.get(ImmichConfig, bob_id).api_key_ciphertext = alice_cipher
        db.session.commit()
    search = client.get("/api/users/me/immich/photos/search?startDate=2024-01-01T00:00:00Z"
                        "&endDate=2024-02-01T00:00:00Z", headers=bob)
    assert search.status_code == 409
    assert "save your API key again" in error_of(search)


def test_patch_changes_only_the_given_fields_and_keeps_the_stored_key(app, client, auth):
    headers = auth.bearer()
    assert client.put("/api/users/me/immich-config", json=GOOD, headers=headers).status_code == 200
    user_id = stored_rows(app)[0]["user_id"]
    from service.immich.settings import credentials

    def stored():
        with app.app_context():
            row = stored_rows(app)[0]
            key = credentials(user_id).api_key if row["enabled"] else None
            return row["server_url"], row["enabled"], row["version"], key

    _, _, first_version, _ = stored()
    off = client.patch("/api/users/me/immich-config", json={"enabled": False}, headers=headers)
    assert off.status_code == 200
    assert off.get_json() == {"success": True, "data": "Immich configuration updated successfully"}
    url, enabled, second_version, _ = stored()
    assert (url, enabled) == ("http://192.168.1.100:2283", False) and second_version != first_version

    moved = {"serverUrl": " http://192.168.1.200:2283// ", "enabled": True}
    assert client.patch(f"/api/users/{user_id}/immich-config", json=moved, headers=headers).status_code == 200
    url, enabled, third_version, key = stored()
    assert (url, enabled, key) == ("http://192.168.1.200:2283", True, API_KEY)
    assert third_version not in (first_version, second_version)

    assert client.patch("/api/users/me/immich-config", json={"apiKey": " new-key "}, headers=headers).status_code == 200
    assert stored()[3] == "new-key"
    assert len(stored_rows(app)) == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "at least one"),
        ({"name": "x"}, "at least one"),
        ({"enabled": "no"}, "enabled"),
        ({"serverUrl": ""}, "serverUrl"),
        ({"serverUrl": None}, "serverUrl"),
        ({"apiKey": "two words"}, "apiKey"),
        ({"apiKey": None}, "apiKey"),
        ({"serverUrl": "http://169.254.169.254"}, "can never be used"),
    ],
)
def test_patch_refuses_bad_fields_and_changes_nothing(app, client, auth, body, field):
    headers = auth.bearer()
    assert client.put("/api/users/me/immich-config", json=GOOD, headers=headers).status_code == 200
    before = stored_rows(app)
    response = client.patch("/api/users/me/immich-config", json=body, headers=headers)
    assert response.status_code == 400
    assert field in error_of(response)
    assert stored_rows(app) == before


def test_patch_without_stored_settings_is_409_and_stores_nothing(app, client, auth):
    admin = auth.bearer("admin@example.com")
    response = client.patch("/api/users/me/immich-config", json={"enabled": False}, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["code"] == "immich_not_configured"
    assert stored_rows(app) == []

    other_id = auth.add_user("bob@example.com")
    bob = auth.bearer("bob@example.com")
    assert client.put("/api/users/me/immich-config", json=GOOD, headers=bob).status_code == 200
    refused = client.patch(f"/api/users/{other_id}/immich-config", json={"enabled": False}, headers=admin)
    assert refused.status_code == 403
    assert stored_rows(app)[0]["enabled"]


def test_rotation_moves_every_row_to_the_new_key(settings, tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_app({**settings, "ENCRYPTION_KEYS": old})
    from tests.conftest import Auth

    helper = Auth(first, first.test_client())
    for name in ("alice", "bob", "carol"):
        headers = helper.bearer(f"{name}@example.com")
        body = {**GOOD, "apiKey": f"{name}-key"}
        assert helper.client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
    dispose(first)

    from service.immich.settings import credentials

    def readable(app):
        with app.app_context():
            return sorted(credentials(row["user_id"]).api_key for row in stored_rows(app))

    both = make_app({**settings, "ENCRYPTION_KEYS": f"{new},{old}"}, migrate=False)
    assert readable(both) == ["alice-key", "bob-key", "carol-key"]
    result = both.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 0 and "3" in result.output
    dispose(both)

    only_new = make_app({**settings, "ENCRYPTION_KEYS": new}, migrate=False)
    assert readable(only_new) == ["alice-key", "bob-key", "carol-key"]
    dispose(only_new)

    only_old = make_app({**settings, "ENCRYPTION_KEYS": old}, migrate=False)
    from service.immich.settings import NotConfigured

    with only_old.app_context(), pytest.raises(NotConfigured):
        credentials(stored_rows(only_old)[0]["user_id"])
    dispose(only_old)


def test_create_user_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "ops@example.com", "--admin", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "ADMIN ops@example.com" in result.output
    short = runner.invoke(args=["create-user", "x@example.com", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    dup = runner.invoke(args=["create-user", "OPS@example.com", "--password-stdin"], input="a long enough password\n")
    assert dup.exit_code != 0 and "already exists" in dup.output
    client = app.test_client()
    login = client.post("/api/auth/login", json={"email": "ops@example.com", "password": "a long enough password"})
    assert login.status_code == 200 and login.get_json()["data"]["user"]["role"] == "ADMIN"

    listed = runner.invoke(args=["list-users"])
    assert "ops@example.com" in listed.output
    reset = runner.invoke(args=["reset-password", "ops@example.com", "--password-stdin"], input="another password\n")
    assert reset.exit_code == 0
    login = client.post("/api/auth/login", json={"email": "ops@example.com", "password": "another password"})
    assert login.status_code == 200
