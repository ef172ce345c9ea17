"""Hostile input and failing upstreams: every promise of the contract holds under both."""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text

from fake_immich import ALICE_KEY, BOB_KEY, FakeImmich
from service.immich.url_policy import UrlPolicy, unwrap
from tests.conftest import Auth, dispose, error_of, make_app
from tests.live_server import serving

RANGE = "startDate=2023-01-01T00:00:00Z&endDate=2024-12-31T23:59:59Z"


pytestmark = pytest.mark.usefixtures("fresh_fake")


def configure(client, headers, url, key=ALICE_KEY):
    body = {"serverUrl": url, "apiKey": key, "enabled": True}
    response = client.put("/api/users/me/immich-config", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()


# ------------------------------------------------------------------ URL policy, generated


def expected_allowed(policy_text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The policy restated from Python's own classification of the address."""
    ip = unwrap(address)
    metadata = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("168.63.129.16"),
                ipaddress.ip_address("192.0.0.192"), ipaddress.ip_address("fd00:ec2::254")}
    reserved_v4 = [ipaddress.ip_network("0.0.0.0/8"), ipaddress.ip_network("240.0.0.0/4")]
    if (ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip in metadata
            or (ip.version == 4 and any(ip in net for net in reserved_v4))):
        return False
    entries = set(policy_text.split(","))
    if "*" in entries:
        return True
    if ip.is_loopback:
        return "loopback" in entries
    private = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
    if any(ip.version == n.version and ip in n for n in private):
        return "private" in entries
    return ip.is_global and "external" in entries


POLICIES = ["private,external", "external", "loopback", "private", "*", "loopback,private,external"]


@hsettings(max_examples=400, deadline=None, derandomize=True)
@given(
    policy=st.sampled_from(POLICIES),
    address=st.one_of(
        st.ip_addresses(v=4),
        st.ip_addresses(v=6),
        st.ip_addresses(v=4).map(lambda a: ipaddress.IPv6Address(f"::ffff:{a}")),
        st.ip_addresses(v=4).map(lambda a: ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(a))),
        st.sampled_from([ipaddress.ip_address(a) for a in (
            "127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.1.100", "172.31.255.255", "100.100.100.200",
            "0.0.0.0", "255.255.255.255", "::1", "fe80::1", "fc00::5", "8.8.8.8", "2001:4860::1")]),
    ),
)
def test_policy_agrees_with_python_classification(policy, address):
    assert UrlPolicy.parse(policy).address_allowed(address) == expected_allowed(policy, address)


# ------------------------------------------------------------------ hostile bodies


def test_deeply_nested_json_is_400(client, auth):
    headers = auth.bearer()
    body = "[" * 100_000 + "]" * 100_000
    response = client.put("/api/users/me/immich-config", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    error_of(response)


def test_chunked_body_over_the_limit_is_413(app, auth):
    auth.bearer()
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)

        def chunks():
            for _ in range(40):
                yield b"x" * 65536

        conn.request("POST", "/api/auth/login", body=chunks(), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
    assert response.status == 413 and body["success"] is False


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_bodies_are_400(client, auth, content_type):
    headers = auth.bearer()
    kwargs = {"content_type": content_type} if content_type else {}
    response = client.put("/api/users/me/immich-config", data="serverUrl=x", headers=headers, **kwargs)
    assert response.status_code == 400
    assert "JSON" in error_of(response)


@pytest.mark.parametrize(
    "photo_id",
    ["..%2F..%2Fserver%2Fversion", "%2e%2e", "{00000000-0000-0000-0000-000000000000}",
     "urn:uuid:00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000",
     "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-000000000000%0d%0a"],
)
def test_path_tricks_in_photo_id_are_refused_before_upstream(client, auth, fake, photo_id):
    headers = auth.bearer()
    configure(client, headers, fake.url)
    fake.clear_requests()
    response = client.get(f"/api/users/me/immich/photos/{photo_id}/thumbnail", headers=headers)
    assert response.status_code in (400, 404)
    error_of(response)
    assert fake.requests == []


# ------------------------------------------------------------------ concurrency and faults


def test_concurrent_saves_leave_one_consistent_row(app, client, auth):
    headers = auth.bearer()
    bodies = [{"serverUrl": f"http://192.168.1.{n}:2283", "apiKey": f"key-{n}", "enabled": n % 2 == 0}
              for n in range(1, 21)]

    def save(body):
        return client.put("/api/users/me/immich-config", json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(save, bodies))
    assert set(statuses) == {200}
    with app.app_context():
        from service.extensions import db
        from service.immich.settings import credentials
        from service.models import ImmichConfig

        rows = db.session.query(ImmichConfig).all()
        assert len(rows) == 1
        row = rows[0]
        n = int(row.server_url.split(".")[-1].split(":")[0])
        assert row.enabled == (n % 2 == 0)
        if row.enabled:
            assert credentials(row.user_id).api_key == f"key-{n}"


def test_circuit_breaker_fails_fast_and_spares_other_servers(settings, fake):
    app = make_app({**settings, "IMMICH_BREAKER_FAILURES": "3", "IMMICH_BREAKER_SECONDS": "1",
                    "IMMICH_READ_TIMEOUT": "1", "SEARCH_CACHE_SECONDS": "0"})
    client = app.test_client()
    helper = Auth(app, client)
    alice = helper.bearer("alice@example.com")
    configure(client, alice, fake.url)
    healthy_fake = FakeImmich().start()
    try:
        bob = helper.bearer("bob@example.com")
        configure(client, bob, healthy_fake.url, key=BOB_KEY)

        fake.set_fault("500")
        for _ in range(3):
            assert client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=alice).status_code == 502
        fake.clear_requests()
        started = time.monotonic()
        blocked = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=alice)
        assert blocked.status_code == 503
        assert 1 <= int(blocked.headers["Retry-After"]) <= 1
        assert "try it again" in error_of(blocked)
        assert fake.requests == [] and time.monotonic() - started < 2
        # Another user's Immich server is unaffected.
        assert client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=bob).status_code == 200

        fake.set_fault(None)
        time.sleep(1.1)
        assert client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=alice).status_code == 200
        assert client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=alice).status_code == 200
    finally:
        healthy_fake.stop()
        dispose(app)


def test_slow_upstream_frees_the_worker_within_the_timeout(settings, fake):
    app = make_app({**settings, "IMMICH_READ_TIMEOUT": "0.5", "SEARCH_CACHE_SECONDS": "0"})
    client = app.test_client()
    headers = Auth(app, client).bearer()
    configure(client, headers, fake.url)
    photo = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers).get_json()["data"]["photos"][0]
    fake.slow_seconds = 3
    fake.set_fault("slow")
    for url in (f"/api/users/me/immich/photos/search?{RANGE}", photo["thumbnailUrl"], photo["downloadUrl"]):
        started = time.monotonic()
        response = client.get(url, headers=headers)
        assert response.status_code == 504, url
        assert time.monotonic() - started < 2
    test = client.post("/api/users/me/immich-config/test", headers=headers).get_json()["data"]
    assert test["reachable"] is False and "in time" in test["reason"]
    dispose(app)


def test_a_thousand_aborted_downloads_leave_no_upstream_connection(app, auth, fake):
    client = app.test_client()
    headers = auth.bearer()
    configure(client, headers, fake.url)
    large = fake.asset(fake.special["large"])
    token = headers["Authorization"]
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        request = (f"GET /api/users/me/immich/photos/{large.id}/download HTTP/1.1\r\nHost: {host}\r\n"
                   f"Authorization: {token}\r\n\r\n").encode()

        def abort_one(_n):
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request)
                first = sock.recv(65536)
                assert first.startswith(b"HTTP/1.1 200")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(abort_one, range(1000)))
        assert fake.wait_open_connections(0, timeout=10) == 0


# ------------------------------------------------------------------ database outage


class TcpRelay:
    """Relays 127.0.0.1:port to a target; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.mark.skipif(not __import__("tests.conftest", fromlist=["POSTGRES_URL"]).POSTGRES_URL,
                    reason="needs TEST_POSTGRES_URL (always set in CI)")
def test_database_outage_fails_cleanly_and_recovers_without_restart(tmp_path):
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, TEST_KEY, reset_postgres

    reset_postgres(POSTGRES_URL)
    real = make_url(POSTGRES_URL)
    relay = TcpRelay(real.host or "127.0.0.1", real.port or 5432)
    through_relay = real.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    app = make_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": through_relay,
                    "ENCRYPTION_KEYS": TEST_KEY, "SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40})
    try:
        client = app.test_client()
        headers = Auth(app, client).bearer()
        assert client.get("/api/users/me", headers=headers).status_code == 200

        relay.cut()
        body = {"serverUrl": "http://192.168.1.5:2283", "apiKey": "k", "enabled": True}

        def under_load(path: str, method: str = "get") -> list[int]:
            def one(_n: int) -> int:
                kwargs = {"json": body} if method == "put" else {}
                response = getattr(app.test_client(), method)(path, headers=headers, **kwargs)
                if response.status_code == 503:
                    assert "database" in error_of(response) and response.headers["Retry-After"]
                return response.status_code

            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(one, range(24)))

        assert set(under_load("/api/users/me/immich-config", "put")) == {503}
        assert set(under_load("/api/users/me")) == {503}

        relay.restore()
        assert set(under_load("/api/users/me")) == {200}
        # Nothing was half-written during the outage.
        assert client.get("/api/users/me/immich-config", headers=headers).get_json()["data"] is None
        assert client.put("/api/users/me/immich-config", json=body, headers=headers).status_code == 200
        with app.app_context():
            from service.extensions import db

            assert db.session.execute(text("SELECT count(*) FROM immich_configs")).scalar_one() == 1
    finally:
        dispose(app)
        relay.close()


# ------------------------------------------------------------------ nothing leaked


def test_no_key_address_or_token_leaks_anywhere(settings, fake, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app({**settings, "SEARCH_CACHE_SECONDS": "0", "IMMICH_READ_TIMEOUT": "0.5"})
    client = app.test_client()
    helper = Auth(app, client)
    helper.register()
    login = client.post("/api/auth/login", json={"email": "alice@example.com", "password": "correct horse battery"})
    tokens = login.get_json()["data"]
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    client.delete_cookie("access_token_cookie")
    configure(client, headers, fake.url)
    photos = client.get(f"/api/users/me/immich/photos/search?{RANGE}", headers=headers).get_json()["data"]["photos"]
    secrets = [ALICE_KEY, fake.url, f"127.0.0.1:{fake.port}", tokens["accessToken"], tokens["refreshToken"]]

    responses = []
    calls = [
        ("get", "/api/users/me/immich-config", None),
        ("post", "/api/users/me/immich-config/test", None),
        ("post", "/api/users/me/immich-config/test", {"serverUrl": fake.url, "apiKey": "wrong"}),
        ("get", f"/api/users/me/immich/photos/search?{RANGE}&latitude=48.85&longitude=2.35&radiusMeters=9000", None),
        ("get", photos[0]["thumbnailUrl"], None),
        ("get", photos[0]["thumbnailUrl"] + "?size=preview", None),
        ("get", photos[0]["downloadUrl"], None),
        ("get", "/api/users/me/immich/photos/00000000-0000-4000-8000-000000000000/download", None),
        ("get", "/api/users/me/immich/photos/bad/thumbnail", None),
        ("get", "/api/users/me/immich/photos/search?startDate=x", None),
        ("get", "/api/nothing", None),
    ]
    for fault in (None, "500", "invalid_json", "slow", "redirect", "down"):
        fake.set_fault(fault)
        for method, path, body in calls:
            kwargs = {"json": body} if body is not None else {}
            response = getattr(client, method)(path, headers=headers, **kwargs)
            try:
                responses.append((path, response.get_data() + str(response.headers).encode()))
            except ConnectionResetError:
                assert fault is not None  # a stream cut mid-body ends as a dropped connection
    fake.set_fault(None)
    for path, response in [("logout", client.post("/api/auth/logout", headers=headers)),
                           ("after logout", client.get("/api/users/me", headers=headers))]:
        responses.append((path, response.get_data() + str(response.headers).encode()))

    for path, visible in responses:
        for secret in secrets:
            if path == "/api/users/me/immich-config" and secret in (fake.url, f"127.0.0.1:{fake.port}"):
                continue  # the user's own setting, shown back to them by design
            assert secret.encode() not in visible, (path, secret)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in secrets:
        assert secret not in logged, secret
    assert "Traceback" not in logged
    dispose(app)
