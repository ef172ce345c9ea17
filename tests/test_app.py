"""The factory's settings, the error envelope on every /api failure, and security headers."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from service import create_app
from service.config import ConfigError
from tests.conftest import dispose, error_of


def test_development_keys_are_generated_once_and_reused(tmp_path):
    settings = {"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    first = create_app(settings)
    secrets_file = tmp_path / "instance" / "secrets.json"
    keys_file = tmp_path / "instance" / "encryption.keys"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    assert keys_file.stat().st_mode & 0o777 == 0o600
    second = create_app(settings)
    stored = json.loads(secrets_file.read_text())
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == stored["SECRET_KEY"]
    assert first.config["JWT_SECRET_KEY"] == second.config["JWT_SECRET_KEY"]
    assert first.config["ENCRYPTION_KEYS"] == second.config["ENCRYPTION_KEYS"] == keys_file.read_text().strip()
    dispose(first)
    dispose(second)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "JWT_SECRET_KEY", "ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_secrets(tmp_path, missing):
    settings = {
        "PHOTO_ATLAS_ENV": "production",
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "s" * 40,
        "JWT_SECRET_KEY": "j" * 40,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    settings[missing] = ""
    with pytest.raises(ConfigError, match=missing):
        create_app(settings)
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize("keys", ["not-a-key", f"{Fernet.generate_key().decode()},short", " , "])
def test_unusable_encryption_key_stops_start_up_naming_the_setting(tmp_path, keys):
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENCRYPTION_KEYS": keys})


def test_encryption_keys_file_is_read(tmp_path):
    newest, older = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = tmp_path / "keys"
    path.write_text(f"# newest first\n{newest}\n\n{older}\n")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENCRYPTION_KEYS_FILE": str(path),
                      "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    assert app.config["ENCRYPTION_KEYS"] == f"{newest},{older}"
    dispose(app)
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS_FILE"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENCRYPTION_KEYS_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    "name, value", [("ALLOWED_IMMICH_HOSTS", "private,bogus entry"), ("REGISTRATION_OPEN", "maybe"),
                    ("TRUSTED_PROXIES", "two"), ("IMMICH_READ_TIMEOUT", "-1")],
)
def test_bad_settings_stop_start_up_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENCRYPTION_KEYS": Fernet.generate_key().decode(), name: value})


def test_unknown_api_route_and_wrong_method_use_the_envelope(client):
    missing = client.get("/api/nothing/here")
    assert missing.status_code == 404 and error_of(missing) == "Not found"
    wrong = client.delete("/api/auth/login")
    assert wrong.status_code == 405 and error_of(wrong) == "Method not allowed"
    assert "POST" in wrong.headers["Allow"]


def test_oversized_body_is_413_before_it_is_read(client):
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "1 MiB" in error_of(response)


def test_unexpected_failure_is_a_bare_500(app, caplog):
    def explode():
        raise RuntimeError("secret-token-abc in a SQL statement")

    app.add_url_rule("/api/explode", "explode", explode)
    response = app.test_client().get("/api/explode")
    assert response.status_code == 500
    assert error_of(response) == "Internal server error"
    assert b"secret-token-abc" not in response.data and b"Traceback" not in response.data
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged and "secret-token-abc" not in logged and "Traceback" not in logged


def test_an_unexpected_failure_on_a_share_path_logs_no_token(app, caplog):
    def explode(token):
        raise RuntimeError("boom")

    app.add_url_rule("/api/shares/<token>/explode", "share_explode", explode)
    token = "Zr8kQ2pX7vLw3nB5tY9cD1fH4jM6sA0e"
    response = app.test_client().get(f"/api/shares/{token}/explode")
    assert response.status_code == 500
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unexpected RuntimeError" in logged and "/api/shares/<token>/explode" in logged
    assert token not in logged


def test_html_pages_get_an_html_error_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Not found" in response.data


@pytest.mark.parametrize("path", ["/", "/login", "/api/users/me", "/api/nothing"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_tile_host_is_allowed_for_images_only(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
                      "TILE_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"})
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tiles.example.org" in csp
    assert "connect-src 'self';" in csp
    dispose(app)



def test_hsts_is_sent_over_https_and_with_secure_cookies_only(tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    plain = create_app(base)
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers
    over_https = plain.test_client().get("/login", base_url="https://localhost")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    dispose(plain)

    behind_proxy = create_app({**base, "TRUSTED_PROXIES": "1"})
    forwarded = behind_proxy.test_client().get("/api/users/me", headers={"X-Forwarded-Proto": "https"})
    assert forwarded.headers["Strict-Transport-Security"] == "max-age=31536000"
    dispose(behind_proxy)

    secure = create_app({**base, "COOKIE_SECURE": "true"})
    assert secure.test_client().get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"
    dispose(secure)


def test_the_readme_lists_every_setting():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    read = set(re.findall(r'setting\("([A-Z_]+)"', (root / "service" / "config.py").read_text()))
    table = (root / "README.md").read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert read and {name for name in read if f"`{name}`" not in table} == set()
