"""Photo Atlas as it runs in production: gunicorn processes, nginx in front of them, two
instances sharing PostgreSQL and Redis, the doctor command and the request log.

Every server here is a real process on 127.0.0.1 talking real HTTP; nothing is mocked.
Each process is stopped by a finalizer, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from cryptography.fernet import Fernet
from redis import Redis
from requests.adapters import HTTPAdapter

from fake_immich import ALICE_KEY, FakeImmich
from service.photos.search import PhotoSet
from service.photos.search_cache import RangeKey
from service.photos.shared_search_cache import SharedSearchCache
from tests.conftest import POSTGRES_URL, REDIS_URL, reset_postgres, reset_redis
from tests.live_server import serving

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NGINX = Path("/usr/sbin/nginx")
STARTUP_SECONDS = 30
PASSWORD = "correct horse battery staple"
EMAIL = "alice@example.com"
SEARCH = "startDate=2023-01-01T00:00:00Z&endDate=2024-12-31T23:59:59Z"
SECRET_KEY = secrets.token_urlsafe(48)
JWT_SECRET_KEY = secrets.token_urlsafe(48)
ENCRYPTION_KEY = Fernet.generate_key().decode()

needs_shared_backends = pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL), reason="TEST_POSTGRES_URL and TEST_REDIS_URL are not set"
)


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**settings: str) -> dict[str, str]:
    """Only what a process needs from ours, so no setting leaks in from the test run."""
    kept = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    return {**kept, **settings}


def production_env(tmp: Path, **settings: str) -> dict[str, str]:
    """A production instance answering searches from Immich itself (no library index), so
    the tests here see every upstream call a search makes."""
    return base_env(
        PHOTO_ATLAS_ENV="production",
        SECRET_KEY=SECRET_KEY,
        JWT_SECRET_KEY=JWT_SECRET_KEY,
        ENCRYPTION_KEYS=ENCRYPTION_KEY,
        INSTANCE_PATH=str(tmp / "instance"),
        ALLOWED_IMMICH_HOSTS="loopback",
        WEB_WORKERS="1",
        WEB_THREADS="8",
        INDEX_ENABLED="false",
        **settings,
    )


def run_flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


def migrate(env: dict[str, str]) -> None:
    result = run_flask(env, "db-upgrade")
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class Process:
    """A child process whose stdout and stderr go to files."""

    name: str
    args: list[str]
    env: dict[str, str]
    folder: Path
    url: str = ""
    proc: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.stdout_path = self.folder / f"{self.name}.out"
        self.stderr_path = self.folder / f"{self.name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(  # noqa: S603 - our own binaries and arguments
                self.args, cwd=ROOT, env=self.env, stdout=out, stderr=err, start_new_session=True
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # gunicorn: quick shutdown; nginx: fast shutdown
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def wait_healthy(self, seconds: float = STARTUP_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or the worker is still importing the app
            time.sleep(0.05)
        pytest.fail(f"{self.name} was not healthy within {seconds} s:\n{self.output()[-3000:]}")

    def log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def wait_for_log(self, wanted: Callable[[dict[str, Any]], bool], seconds: float = 5) -> list[dict[str, Any]]:
        """The log entries matching `wanted`, once there is at least one."""
        deadline = time.monotonic() + seconds
        while True:
            found = [entry for entry in self.log_entries() if wanted(entry)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def start_gunicorn(request: pytest.FixtureRequest, env: dict[str, str], folder: Path, name: str) -> Process:
    """Start gunicorn as the README says; the caller waits for it with wait_healthy."""
    port = free_port()
    home = folder / f"{name}-home"  # gunicorn keeps its control socket under HOME: one each
    home.mkdir()
    server = Process(
        name,
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
        {**env, "HOST": "127.0.0.1", "PORT": str(port), "HOME": str(home)},
        folder,
        url=f"http://127.0.0.1:{port}",
    )
    request.addfinalizer(server.stop)
    return server


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, for nginx's https listener; (cert, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_conf(folder: Path, *, listen: int, tls_listen: int, app_port: int | None = None,
               upstreams: list[str] | None = None, thumbnails: Path | None = None) -> str:
    """deploy/nginx.conf with our ports and a certificate of our own, inside a main
    configuration that keeps every path in folder. `upstreams` replaces the instance line."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    cert, key = self_signed_certificate(folder)
    servers = upstreams or [f"server 127.0.0.1:{app_port};"]
    replacements = {
        "server 127.0.0.1:8000;": "\n    ".join(servers),
        "listen 80;": f"listen 127.0.0.1:{listen};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls_listen} ssl;",
        "/etc/ssl/certs/photo-atlas.pem": str(cert),
        "/etc/ssl/private/photo-atlas.key": str(key),
        "/var/lib/photo-atlas/thumbnails/": f"{thumbnails or folder / 'thumbnails'}/",
    }
    for original, ours in replacements.items():
        assert site.count(original) == 1, f"deploy/nginx.conf no longer has {original!r} once"
        site = site.replace(original, ours)
    assert "/var/log/nginx/" in site
    site = site.replace("/var/log/nginx/", f"{folder}/")
    temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        + "events { worker_connections 128; }\n"
        + f"http {{\n    access_log off;\n{temp}\n{site}\n}}\n"
    )


def start_nginx(request: pytest.FixtureRequest, folder: Path, **upstream: Any) -> Process:
    """nginx with deploy/nginx.conf in folder; its url is http, its tls_url https."""
    if not NGINX.exists():
        pytest.fail(f"{NGINX} is missing: scripts/setup.sh --test installs it")
    port, tls_port = free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(folder, listen=port, tls_listen=tls_port, **upstream))
    proxy = Process("nginx", [str(NGINX), "-p", str(folder), "-e", str(folder / "error.log"),
                              "-c", str(conf), "-g", "daemon off;"],
                    base_env(), folder, url=f"http://127.0.0.1:{port}")
    proxy.tls_url = f"https://127.0.0.1:{tls_port}"  # type: ignore[attr-defined]
    request.addfinalizer(proxy.stop)
    proxy.wait_healthy()
    return proxy


# ------------------------------------------------------------------ HTTP helpers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(url: str, email: str = EMAIL, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{url}/api/auth/login", json={"email": email, "password": password}, timeout=10)


def token_of(url: str) -> str:
    response = login(url)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["accessToken"])


def search(url: str, token: str, query: str = SEARCH, **headers: str) -> requests.Response:
    return requests.get(f"{url}/api/users/me/immich/photos/search?{query}",
                        headers={**bearer(token), **headers}, timeout=30)


def save_immich_config(url: str, token: str, fake: FakeImmich) -> None:
    response = requests.put(f"{url}/api/users/me/immich-config", headers=bearer(token), timeout=10,
                            json={"serverUrl": fake.url, "apiKey": ALICE_KEY, "enabled": True})
    assert response.status_code == 200, response.text


def searches_sent(fake: FakeImmich) -> int:
    return sum(1 for recorded in fake.requests if recorded.path == "/api/search/metadata")


class SourceAddress(HTTPAdapter):
    """Connects from a chosen loopback address, so nginx sees a client other than the app's."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def fake():
    server = FakeImmich().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def production(request, tmp_path_factory):
    """One production gunicorn on a migrated SQLite file, set to trust one proxy (the nginx below)."""
    folder = tmp_path_factory.mktemp("production")
    # No search cache: every search reaches Immich, so its upstream log lines can be checked.
    env = production_env(folder, DATABASE_URL=f"sqlite:///{folder / 'atlas.db'}", TRUSTED_PROXIES="1",
                         SEARCH_CACHE_SECONDS="0", THUMBNAIL_CACHE_DIR=str(folder / "thumbnails"),
                         THUMBNAIL_ACCEL_REDIRECT="/_thumbnail_cache/")
    migrate(env)
    server = start_gunicorn(request, env, folder, "gunicorn")
    server.wait_healthy()
    return server


@dataclass
class Account:
    user: dict[str, Any]
    token: str
    refresh_token: str


@pytest.fixture(scope="module")
def alice(production, fake):
    """The first account, registered and signed in over HTTP, with Immich configured."""
    registered = requests.post(f"{production.url}/api/auth/register", timeout=10,
                               json={"email": EMAIL, "password": PASSWORD, "name": "Alice"})
    assert registered.status_code == 201, registered.text
    signed_in = login(production.url)
    assert signed_in.status_code == 200, signed_in.text
    data = signed_in.json()["data"]
    save_immich_config(production.url, data["accessToken"], fake)
    return Account(registered.json()["data"], data["accessToken"], data["refreshToken"])


@pytest.fixture(scope="module")
def nginx(request, production, tmp_path_factory):
    folder = tmp_path_factory.mktemp("nginx")
    return start_nginx(request, folder, app_port=int(production.url.rsplit(":", 1)[1]),
                       thumbnails=Path(production.env["THUMBNAIL_CACHE_DIR"]))


# ------------------------------------------------------------------ gunicorn


def test_health_and_readiness_over_http(production):
    health = requests.get(f"{production.url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"success": True, "data": {"status": "ok"}}
    ready = requests.get(f"{production.url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["success"] is True and ready.json()["data"]["status"] == "ok"
    assert ready.headers["Cache-Control"] == "no-store"


def test_register_login_and_me_over_http(production, alice):
    assert alice.user["email"] == EMAIL and alice.user["role"] == "ADMIN"
    me = requests.get(f"{production.url}/api/users/me", headers=bearer(alice.token), timeout=5)
    assert me.status_code == 200
    assert me.json()["data"] == alice.user
    assert requests.get(f"{production.url}/api/users/me", timeout=5).status_code == 401


def test_production_start_without_secret_key_exits_naming_it(request, tmp_path):
    env = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'atlas.db'}")
    del env["SECRET_KEY"]
    server = start_gunicorn(request, env, tmp_path, "no-secret")
    try:
        server.proc.wait(STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("gunicorn kept running without SECRET_KEY")
    assert server.proc.returncode != 0
    assert "SECRET_KEY must be set when PHOTO_ATLAS_ENV=production" in server.output()


@pytest.mark.parametrize("name, value", [("REGISTRATION_OPEN", "maybe"), ("ALLOWED_IMMICH_HOSTS", "bogus entry"),
                                         ("ENCRYPTION_KEYS", "not-a-key"), ("LOGIN_RATE_LIMIT", "lots")])
def test_a_bad_setting_is_one_line_naming_it_in_commands_and_at_start_up(request, tmp_path, name, value):
    env = {**production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'atlas.db'}"), name: value}
    command = run_flask(env, "list-users")
    assert command.returncode != 0
    assert command.stderr.strip().count("\n") == 0 and name in command.stderr, command.stderr
    assert "Traceback" not in command.stdout + command.stderr

    server = start_gunicorn(request, env, tmp_path, "bad-setting")
    try:
        server.proc.wait(STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gunicorn kept running with a bad {name}")
    assert server.proc.returncode != 0
    lines = [line for line in server.output().splitlines() if name in line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), server.output()
    assert "Traceback" not in server.output()


def test_readiness_names_what_is_down_and_nothing_else(request, tmp_path):
    password = "hunter2-" + secrets.token_hex(4)
    db_port, redis_port = free_port(), free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgresql+psycopg://atlas:{password}@127.0.0.1:{db_port}/atlas",
        REDIS_URL=f"redis://:{password}@127.0.0.1:{redis_port}/0",
    )
    server = start_gunicorn(request, env, tmp_path, "unready")
    server.wait_healthy()
    ready = requests.get(f"{server.url}/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json() == {"success": False, "error": "Not ready: database and Redis unreachable"}
    for secret in (password, str(db_port), str(redis_port), "127.0.0.1"):
        assert secret not in ready.text
    assert password not in server.output()


def test_failed_logins_are_counted_across_processes_without_redis(request, tmp_path):
    """Default settings, no Redis: two instances of two workers each share the counts."""
    env = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'atlas.db'}")
    del env["WEB_WORKERS"]  # the default, 2
    migrate(env)
    servers = [start_gunicorn(request, env, tmp_path, name) for name in ("one", "two")]
    for server in servers:
        server.wait_healthy()
    registered = requests.post(f"{servers[0].url}/api/auth/register", json={"email": EMAIL, "password": PASSWORD},
                               timeout=10)
    assert registered.status_code == 201
    statuses = [login(servers[attempt % 2].url, password="wrong password").status_code for attempt in range(11)]
    assert statuses == [401] * 10 + [429]
    assert login(servers[1].url).status_code == 429  # the right password waits too


# ------------------------------------------------------------------ nginx in front


def test_login_through_nginx(nginx, alice):
    signed_in = login(nginx.url)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["data"]["accessToken"]
    me = requests.get(f"{nginx.url}/api/users/me", headers=bearer(token), timeout=5)
    assert me.status_code == 200 and me.json()["data"]["email"] == EMAIL
    assert me.headers["X-Request-Id"]


def test_nginx_refuses_bodies_over_a_mebibyte(nginx):
    response = requests.post(f"{nginx.url}/api/auth/login", data=b"x" * (1024 * 1024 + 1),
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 413


def test_an_original_streams_through_nginx_byte_for_byte(nginx, production, alice, fake):
    found = search(nginx.url, alice.token)
    assert found.status_code == 200, found.text
    ids = {photo["id"] for photo in found.json()["data"]["photos"]}
    sizes = {asset.id: asset.size for asset in fake.assets if asset.id in ids}
    # The smallest original over a megabyte: large enough to arrive in many chunks.
    photo_id = min((asset_id for asset_id, size in sizes.items() if size > 1024 * 1024), key=sizes.__getitem__)
    url = f"{nginx.url}/api/users/me/immich/photos/{photo_id}/download"
    request_id = "download-" + uuid.uuid4().hex[:8]
    with requests.get(url, headers={**bearer(alice.token), "X-Request-Id": request_id}, stream=True,
                      timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        body = b"".join(response.iter_content(64 * 1024))
    assert len(body) == sizes[photo_id]
    assert body == fake.original_bytes(photo_id)
    # The request line is written once the last byte has gone, next to the upstream call's line.
    entries = production.wait_for_log(lambda e: e.get("request_id") == request_id
                                      and e["logger"] == "photo_atlas.request")
    assert [(e["path"], e["status"]) for e in entries] == [(f"/api/users/me/immich/photos/{photo_id}/download", 200)]
    upstream = [e for e in production.log_entries() if e.get("request_id") == request_id
                and e["logger"] == "service.immich.client"]
    assert [(e["upstream_path"], e["outcome"]) for e in upstream] == [("assets", "200")]


def test_a_cached_thumbnail_is_sent_by_nginx_with_immichs_etag(nginx, alice, fake):
    photo = search(nginx.url, alice.token).json()["data"]["photos"][0]
    url = nginx.url + photo["thumbnailUrl"]
    direct = requests.get(f"{fake.url}/api/assets/{photo['id']}/thumbnail", headers={"x-api-key": ALICE_KEY},
                          timeout=10)
    for _ in range(2):  # a miss, then a hit; each handed to nginx's internal location
        response = requests.get(url, headers=bearer(alice.token), timeout=10)
        assert response.status_code == 200 and response.content == direct.content
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["ETag"] == direct.headers["ETag"]
        assert response.headers["Cache-Control"] == "private, max-age=3600"
        assert "X-Accel-Redirect" not in response.headers
    again = requests.get(url, headers={**bearer(alice.token), "If-None-Match": direct.headers["ETag"]}, timeout=10)
    assert again.status_code == 304
    assert requests.get(f"{nginx.url}/_thumbnail_cache/", timeout=10).status_code == 404
    assert requests.get(url, timeout=10).status_code == 401


def test_the_request_log_shows_the_client_address_nginx_reports(nginx, production):
    request_id = "via-nginx-" + uuid.uuid4().hex[:8]
    with requests.Session() as session:
        session.mount("http://", SourceAddress("127.0.0.2"))
        # A client's own X-Forwarded-For is kept to the left of nginx's entry and ignored.
        response = session.get(f"{nginx.url}/healthz", timeout=5,
                               headers={"X-Request-Id": request_id, "X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id
    [entry] = production.wait_for_log(lambda e: e.get("request_id") == request_id)
    assert entry["remote_addr"] == "127.0.0.2"
    # nginx writes its access line after the response has gone: give it a moment.
    access_log = Path(nginx.stdout_path.parent) / "photo-atlas.access.log"
    deadline = time.monotonic() + 5
    while "127.0.0.2" not in access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "127.0.0.2" in access_log.read_text()


def test_https_through_nginx_brings_hsts(nginx, alice):
    certificate = str(Path(nginx.stdout_path.parent) / "cert.pem")
    secure = requests.get(f"{nginx.tls_url}/api/users/me", headers=bearer(alice.token), verify=certificate,
                          timeout=10)
    assert secure.status_code == 200 and secure.json()["data"]["email"] == EMAIL
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = requests.get(f"{nginx.url}/api/users/me", headers=bearer(alice.token), timeout=10)
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers


class FailingInstance:
    """An instance whose database is down: 503 to everything, counting what it was sent."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.methods.append(environ["REQUEST_METHOD"])
        start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "5")])
        return [b'{"success":false,"error":"The database is unavailable; try again shortly"}']


def test_nginx_retries_idempotent_requests_on_another_instance_and_logs_no_query(request, production, tmp_path):
    failing = FailingInstance()
    with serving(failing) as failing_url:
        instances = [f"127.0.0.1:{free_port()}", failing_url.removeprefix("http://"),
                     production.url.removeprefix("http://")]  # down, failing, healthy
        proxy = start_nginx(request, tmp_path, upstreams=[f"server {at} max_fails=0;" for at in instances])
        marker = "query-" + uuid.uuid4().hex
        gets = [requests.get(f"{proxy.url}/healthz?m={marker}", timeout=30).status_code for _ in range(6)]
        assert gets == [200] * 6
        assert "GET" in failing.methods
        # No token: the healthy instance answers 401; a POST sent to the failing one is not retried.
        posts = [requests.post(f"{proxy.url}/api/auth/refresh?m={marker}", timeout=30).status_code
                 for _ in range(6)]
        assert set(posts) <= {401, 503} and posts.count(503) == failing.methods.count("POST") >= 1
        proxy.stop()
    logs = "".join(path.read_text() for path in tmp_path.glob("*.log"))
    assert "/healthz" in logs and marker not in logs


# ------------------------------------------------------------------ the doctor


def doctor_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Each check's name mapped to its whole report line."""
    lines = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(ok|warn|FAIL)\s+(\S+(?: \S+)*?)\s{2,}", line)
        if match:
            lines[match.group(2)] = line
    return lines


def test_doctor_passes_a_good_production_configuration(production, alice):
    result = run_flask(production.env, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = doctor_lines(result)
    assert set(lines) == {"settings", "database", "migrations", "encryption keys", "stored API keys",
                          "redis", "thumbnail cache", "secrets", "cookies"}
    for name in ("settings", "migrations", "encryption keys", "stored API keys", "secrets"):
        assert lines[name].startswith("ok"), lines[name]
    assert "all 1 readable" in lines["stored API keys"]
    assert lines["thumbnail cache"].startswith("ok") and "MiB of 1024 MiB" in lines["thumbnail cache"]
    # Production on SQLite and without Redis works for one instance, and is warned about.
    assert lines["database"].startswith("warn") and "PostgreSQL" in lines["database"]
    assert lines["cookies"].startswith("warn") and "COOKIE_SECURE" in lines["cookies"]
    assert lines["redis"].startswith("warn") and "REDIS_URL" in lines["redis"]
    assert result.stdout.rstrip().endswith("warning(s).")
    for secret in (SECRET_KEY, JWT_SECRET_KEY, ENCRYPTION_KEY, ALICE_KEY, str(production.env["DATABASE_URL"])):
        assert secret not in result.stdout + result.stderr


def test_doctor_fails_an_unmigrated_database(production, tmp_path):
    result = run_flask({**production.env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}, "doctor")
    assert result.returncode == 1
    lines = doctor_lines(result)
    assert lines["migrations"].startswith("FAIL") and "db-upgrade" in lines["migrations"]
    assert not lines["database"].startswith("FAIL")
    assert "check(s) failed." in result.stdout


def test_doctor_stops_on_settings_that_do_not_load(production):
    result = run_flask({**production.env, "ENCRYPTION_KEYS": "not-a-key"}, "doctor")
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS entry 1 is not a Fernet key" in result.stderr


def test_doctor_counts_stored_keys_the_encryption_keys_cannot_read(production, alice):
    other = Fernet.generate_key().decode()
    lost = run_flask({**production.env, "ENCRYPTION_KEYS": other}, "doctor")
    assert lost.returncode == 1
    line = doctor_lines(lost)["stored API keys"]
    assert line.startswith("FAIL") and "1 of 1 cannot be read" in line
    assert ALICE_KEY not in lost.stdout + lost.stderr

    rotated = run_flask({**production.env, "ENCRYPTION_KEYS": f"{other},{ENCRYPTION_KEY}"}, "doctor")
    assert rotated.returncode == 0, rotated.stdout
    line = doctor_lines(rotated)["stored API keys"]
    assert line.startswith("warn") and "rotate-key" in line


# ------------------------------------------------------------------ the request log


def test_one_json_line_per_request_with_its_fields(production, alice, fake):
    request_id = "trace-" + uuid.uuid4().hex[:12]
    response = requests.get(f"{production.url}/api/users/me?marker=query-{request_id}",
                            headers={**bearer(alice.token), "X-Request-Id": request_id}, timeout=5)
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id
    [entry] = production.wait_for_log(lambda e: e.get("request_id") == request_id)
    duration = entry.pop("duration_ms")
    assert isinstance(duration, float) and duration >= 0
    assert entry.pop("time")
    assert entry == {
        "level": "INFO", "logger": "photo_atlas.request", "message": "request", "request_id": request_id,
        "method": "GET", "path": "/api/users/me", "status": 200, "user_id": alice.user["id"],
        "remote_addr": "127.0.0.1",
    }

    static = requests.get(f"{production.url}/static/css/app.css", headers={"X-Request-Id": "static-" + request_id},
                          timeout=5)
    assert static.status_code == 200
    [entry] = production.wait_for_log(lambda e: e.get("request_id") == "static-" + request_id)
    assert entry["path"] == "/static/css/app.css"

    for malformed in ("x" * 65, "has space", "semi;colon"):
        response = requests.get(f"{production.url}/healthz", headers={"X-Request-Id": malformed}, timeout=5)
        generated = response.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        [entry] = production.wait_for_log(lambda e, rid=generated: e.get("request_id") == rid)
        assert entry["user_id"] is None and entry["status"] == 200

    search_id = "search-" + uuid.uuid4().hex[:12]
    assert search(production.url, alice.token, **{"X-Request-Id": search_id}).status_code == 200
    entries = production.wait_for_log(lambda e: e.get("request_id") == search_id)
    upstream = [e for e in entries if e["logger"] == "service.immich.client"]
    assert upstream, entries
    assert all(e["upstream_method"] == "POST" and e["upstream_path"] == "search" and e["outcome"] == "200"
               and isinstance(e["duration_ms"], float) for e in upstream)
    [line] = [e for e in entries if e["logger"] == "photo_atlas.request"]
    assert line["path"] == "/api/users/me/immich/photos/search" and line["status"] == 200

    # Pages after the first are fetched on other threads, and keep the request's id too.
    fake.add_bulk_assets(ALICE_KEY, 2500, start="2019-01-01T00:00:00Z", end="2019-12-31T00:00:00Z", seed=7)
    paged_id = "paged-" + uuid.uuid4().hex[:12]
    paged = search(production.url, alice.token, "startDate=2019-01-01T00:00:00Z&endDate=2019-12-31T23:59:59Z",
                   **{"X-Request-Id": paged_id})
    assert paged.json()["data"]["totalCount"] == 2500
    production.wait_for_log(lambda e: e.get("request_id") == paged_id and e["logger"] == "photo_atlas.request")
    pages = [e for e in production.log_entries() if e.get("request_id") == paged_id
             and e["logger"] == "service.immich.client"]
    assert len(pages) >= 3 and all(e["upstream_path"] == "search" for e in pages)


def test_the_logs_hold_no_key_token_password_or_query_string(production, nginx, alice):
    marker = "query-" + uuid.uuid4().hex
    requests.get(f"{production.url}/api/users/me?access_token={alice.token}&m={marker}",
                 headers=bearer(alice.token), cookies={"access_token_cookie": alice.token}, timeout=5)
    requests.post(f"{nginx.url}/api/auth/login?m={marker}", json={"email": EMAIL, "password": PASSWORD}, timeout=10)
    requests.post(f"{production.url}/api/auth/login", json={"email": EMAIL, "password": "wrong " + PASSWORD},
                  timeout=10)
    production.wait_for_log(lambda e: e.get("path") == "/api/auth/login" and e.get("status") == 401)
    captured = production.output() + nginx.output()
    captured += "".join(path.read_text() for path in nginx.stdout_path.parent.glob("*.log"))
    assert production.log_entries(), "nothing was logged"
    for secret in (ALICE_KEY, alice.token, alice.refresh_token, PASSWORD, marker, "startDate=",
                   SECRET_KEY, JWT_SECRET_KEY, ENCRYPTION_KEY):
        assert secret not in captured


# ------------------------------------------------------------------ two instances, one PostgreSQL and Redis


def _other_redis_database(url: str) -> str:
    """The same Redis server, another database: the rest of the suite empties its own between tests."""
    parts = urlsplit(url)
    number = "14" if parts.path.strip("/") != "14" else "13"
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory, fake):
    """Two gunicorn instances on different ports, sharing one PostgreSQL and one Redis."""
    assert POSTGRES_URL and REDIS_URL
    redis_url = _other_redis_database(REDIS_URL)
    reset_postgres(POSTGRES_URL)
    reset_redis(redis_url)
    request.addfinalizer(lambda: reset_redis(redis_url))
    folder = tmp_path_factory.mktemp("cluster")
    env = production_env(folder, DATABASE_URL=POSTGRES_URL, REDIS_URL=redis_url)
    migrate(env)
    first = start_gunicorn(request, env, folder, "first")
    second = start_gunicorn(request, env, folder, "second")
    first.wait_healthy()
    second.wait_healthy()
    registered = requests.post(f"{first.url}/api/auth/register", json={"email": EMAIL, "password": PASSWORD},
                               timeout=10)
    assert registered.status_code == 201, registered.text
    save_immich_config(first.url, token_of(first.url), fake)
    for server in (first, second):
        ready = requests.get(f"{server.url}/readyz", timeout=5).json()
        assert ready["data"]["checks"] == {"database": "ok", "redis": "ok"}
    return first, second


@needs_shared_backends
def test_a_token_from_one_instance_works_on_the_other(cluster):
    first, second = cluster
    token = token_of(first.url)
    me = requests.get(f"{second.url}/api/users/me", headers=bearer(token), timeout=5)
    assert me.status_code == 200 and me.json()["data"]["email"] == EMAIL


@needs_shared_backends
def test_logout_on_one_instance_is_refused_on_the_other_at_once(cluster):
    first, second = cluster
    signed_in = login(first.url).json()["data"]
    access, refresh = signed_in["accessToken"], signed_in["refreshToken"]
    assert requests.get(f"{second.url}/api/users/me", headers=bearer(access), timeout=5).status_code == 200
    assert requests.post(f"{first.url}/api/auth/logout", headers=bearer(access), timeout=5).status_code == 200
    refused = requests.get(f"{second.url}/api/users/me", headers=bearer(access), timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "Token has been revoked"
    assert requests.post(f"{second.url}/api/auth/refresh", headers=bearer(refresh), timeout=5).status_code == 401


@needs_shared_backends
def test_a_search_on_one_instance_fills_the_cache_of_the_other(cluster, fake):
    first, second = cluster
    token = token_of(first.url)
    fake.clear_requests()
    on_first = search(first.url, token)
    assert on_first.status_code == 200, on_first.text
    assert searches_sent(fake) > 0
    fake.clear_requests()
    on_second = search(second.url, token)
    assert on_second.status_code == 200
    assert on_second.json() == on_first.json()
    assert fake.requests == []

    # Saving the settings on one instance drops the cached range for both.
    save_immich_config(second.url, token, fake)
    fake.clear_requests()
    assert search(first.url, token).status_code == 200
    assert searches_sent(fake) > 0


@needs_shared_backends
def test_doctor_passes_the_shared_postgresql_and_redis(cluster):
    result = run_flask(cluster[0].env, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = doctor_lines(result)
    assert lines["database"].startswith("ok") and "postgresql" in lines["database"]
    assert lines["migrations"].startswith("ok")
    assert lines["redis"].startswith("ok") and "reachable" in lines["redis"]
    assert "all 1 readable" in lines["stored API keys"]


@needs_shared_backends
def test_failed_logins_are_counted_across_instances(cluster):
    # Last of the cluster's tests: after it, this client address may not sign in for a while.
    first, second = cluster
    for attempt in range(10):
        server = (first, second)[attempt % 2]
        assert login(server.url, password="wrong password").status_code == 401
    throttled = login(first.url, password="wrong password")
    assert throttled.status_code == 429
    assert throttled.headers.get("Retry-After")
    assert throttled.json()["success"] is False


# ------------------------------------------------------------------ the shared search cache on its own


class CountingLoad:
    """A search that takes a while and counts how often it ran."""

    def __init__(self, photos: list[dict[str, Any]], seconds: float = 0.0) -> None:
        self.photos = photos
        self.seconds = seconds
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> PhotoSet:
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)
        return PhotoSet([dict(photo) for photo in self.photos])


PHOTOS = [{"id": "a", "originalFileName": "a.jpg", "takenAt": "2024-01-01T00:00:00.000Z",
           "latitude": 52.5, "longitude": 13.4}]


@pytest.fixture
def shared_redis():
    assert REDIS_URL
    url = _other_redis_database(REDIS_URL)
    client = Redis.from_url(url, socket_timeout=5)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@needs_shared_backends
def test_shared_cache_loads_once_for_callers_at_once_and_again_for_new_settings(shared_redis):
    cache = SharedSearchCache(shared_redis, ttl_seconds=60, poll_seconds=0.01)
    user = uuid.uuid4()
    key = RangeKey(user, "version-1", "2024-01-01T00:00:00.000Z", "2024-12-31T00:00:00.000Z")
    load = CountingLoad(PHOTOS, seconds=0.3)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cache.get_or_load(key, load).photos, range(8)))
    assert load.calls == 1
    assert results == [PHOTOS] * 8
    stored = [name.decode() for name in shared_redis.keys("photo-atlas:search:*")]
    assert 0 < shared_redis.pttl(next(n for n in stored if ":entry:" in n)) <= 60_000

    cache.get_or_load(RangeKey(uuid.uuid4(), "version-1", key.start, key.end), load)  # someone else
    assert load.calls == 2
    cache.get_or_load(key, load)
    assert load.calls == 2
    assert cache.get_or_load(RangeKey(user, "version-2", key.start, key.end), load).photos == PHOTOS
    assert load.calls == 3


def test_shared_cache_loads_directly_when_redis_is_down():
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    cache = SharedSearchCache(client, ttl_seconds=60)
    load = CountingLoad(PHOTOS)
    key = RangeKey(uuid.uuid4(), "version-1", "start", "end")
    assert cache.get_or_load(key, load).photos == PHOTOS
    assert cache.get_or_load(key, load).photos == PHOTOS
    assert load.calls == 2
    client.close()
