"""When a dependency fails: Photo Atlas under gunicorn, on a Redis and a PostgreSQL of its own
that the tests kill and freeze (SIGSTOP) while requests run concurrently.

Every time bound here is a bound on outage behaviour, generous for a loaded machine: the
point is that nothing hangs on a dead dependency, not how fast a request is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from fake_immich import ALICE_KEY
from tests.conftest import reset_postgres
from tests.dependencies import PostgresServer, RedisServer
from tests.test_production import (
    EMAIL,
    PASSWORD,
    Process,
    bearer,
    login,
    migrate,
    production_env,
    save_immich_config,
    search,
    start_gunicorn,
)

# What a request may take while Redis is dead or frozen: the app waits REDIS_TIMEOUT (0.5 s)
# at most once per outage before its circuit opens. A sign-in also hashes a password with
# Argon2, which takes a second or more of CPU on a loaded machine: it gets more room.
REDIS_OUTAGE_BOUND = 3.0
HASHING_ROOM = 8.0


@dataclass
class Answer:
    what: str
    status: int
    seconds: float


def timed(what: str, call: Callable[[], requests.Response]) -> tuple[Answer, requests.Response]:
    started = time.monotonic()
    response = call()
    return Answer(what, response.status_code, time.monotonic() - started), response


def a_whole_session(url: str, photo_id: str, fake_url: str) -> list[Answer]:
    """Sign in, use the API, sign out, and try the signed-out token again."""
    answers = []
    answer, signed_in = timed("login", lambda: login(url))
    answers.append(answer)
    if signed_in.status_code != 200:
        return answers
    tokens = signed_in.json()["data"]
    access, refresh = bearer(tokens["accessToken"]), bearer(tokens["refreshToken"])
    photos = f"{url}/api/users/me/immich/photos"
    calls: list[tuple[str, Callable[[], requests.Response]]] = [
        ("me", lambda: requests.get(f"{url}/api/users/me", headers=access, timeout=30)),
        ("refresh", lambda: requests.post(f"{url}/api/auth/refresh", headers=refresh, timeout=30)),
        ("read settings", lambda: requests.get(f"{url}/api/users/me/immich-config", headers=access, timeout=30)),
        ("save settings", lambda: requests.put(f"{url}/api/users/me/immich-config", headers=access, timeout=30,
                                               json={"serverUrl": fake_url, "apiKey": ALICE_KEY, "enabled": True})),
        ("search", lambda: search(url, tokens["accessToken"])),
        ("thumbnail", lambda: requests.get(f"{photos}/{photo_id}/thumbnail", headers=access, timeout=30)),
        ("logout", lambda: requests.post(f"{url}/api/auth/logout", headers=access, timeout=30)),
        ("me after logout", lambda: requests.get(f"{url}/api/users/me", headers=access, timeout=30)),
        ("refresh after logout", lambda: requests.post(f"{url}/api/auth/refresh", headers=refresh, timeout=30)),
    ]
    for what, call in calls:
        answers.append(timed(what, call)[0])
    return answers


EXPECTED = {"login": 200, "me": 200, "refresh": 200, "read settings": 200, "save settings": 200, "search": 200,
            "thumbnail": 200, "logout": 200, "me after logout": 401, "refresh after logout": 401}


def sessions_at_once(server: Process, photo_id: str, fake_url: str, count: int = 4) -> list[Answer]:
    with ThreadPoolExecutor(count) as pool:
        rounds = list(pool.map(lambda _: a_whole_session(server.url, photo_id, fake_url), range(count)))
    return [answer for answers in rounds for answer in answers]


def assert_all_answered(answers: list[Answer], bound: float) -> None:
    wrong = [a for a in answers if a.status != EXPECTED[a.what]]
    slow = [a for a in answers if a.seconds > bound + (HASHING_ROOM if a.what == "login" else 0)]
    assert not wrong and not slow, (wrong, slow)
    assert len(answers) >= len(EXPECTED)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def site_with_alice(request, tmp_path, env, fake) -> tuple[Process, str]:
    """A production instance with these settings, alice signed up and her Immich set; (it, her token)."""
    migrate(env)
    server = start_gunicorn(request, env, tmp_path, "atlas")
    server.wait_healthy()
    registered = requests.post(f"{server.url}/api/auth/register", json={"email": EMAIL, "password": PASSWORD},
                               timeout=10)
    assert registered.status_code == 201, registered.text
    token = login(server.url).json()["data"]["accessToken"]
    save_immich_config(server.url, token, fake)
    return server, token


@pytest.fixture
def site_on_redis(request, tmp_path, redis_server, fake):
    """One production instance on SQLite and our own Redis, with alice signed up and Immich set."""
    env = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'atlas.db'}", REDIS_URL=redis_server.url,
                         REGISTRATION_OPEN="true")
    server, token = site_with_alice(request, tmp_path, env, fake)
    found = search(server.url, token)
    assert found.status_code == 200, found.text
    return server, found.json()["data"]["photos"][0]["id"]


def logged(server: Process, message: str) -> list[dict[str, Any]]:
    return [entry for entry in server.log_entries() if entry.get("message", "").startswith(message)]


def test_with_redis_killed_sign_in_the_api_and_logout_keep_working(site_on_redis, redis_server, fake):
    server, photo_id = site_on_redis
    redis_server.kill()

    assert_all_answered(sessions_at_once(server, photo_id, fake.url), REDIS_OUTAGE_BOUND)
    bob = requests.post(f"{server.url}/api/auth/register", json={"email": "bob@example.com", "password": PASSWORD},
                        timeout=10)
    assert bob.status_code == 201, bob.text
    ready = requests.get(f"{server.url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["data"] == {"status": "degraded", "checks": {"database": "ok", "redis": "unreachable"}}

    # The log names the dependency; nothing is an unexpected error.
    outage = logged(server, "redis unavailable")
    assert outage and all(entry["dependency"] == "redis" for entry in outage)
    assert logged(server, "unexpected") == []

    # Back, and empty: a token signed out during the outage stays refused.
    signed_in = login(server.url).json()["data"]
    assert requests.post(f"{server.url}/api/auth/logout", headers=bearer(signed_in["accessToken"]),
                         timeout=10).status_code == 200
    redis_server.start()
    time.sleep(5.5)  # the circuit's cooldown: Redis is asked again
    refused = requests.get(f"{server.url}/api/users/me", headers=bearer(signed_in["accessToken"]), timeout=10)
    assert refused.status_code == 401
    assert_all_answered(sessions_at_once(server, photo_id, fake.url, count=2), REDIS_OUTAGE_BOUND)
    assert requests.get(f"{server.url}/readyz", timeout=5).json()["data"]["status"] == "ok"


def test_with_redis_frozen_nothing_waits_on_it(site_on_redis, redis_server, fake):
    server, photo_id = site_on_redis
    redis_server.freeze()
    try:
        assert_all_answered(sessions_at_once(server, photo_id, fake.url), REDIS_OUTAGE_BOUND)
        started = time.monotonic()
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 200 and time.monotonic() - started < 2
    finally:
        redis_server.thaw()
    assert logged(server, "unexpected") == []


def test_with_redis_down_failed_sign_ins_are_still_throttled(site_on_redis, redis_server):
    server, _ = site_on_redis
    redis_server.kill()
    for _ in range(10):
        assert login(server.url, password="wrong password").status_code == 401
    throttled = login(server.url, password="wrong password")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


# ------------------------------------------------------------------ PostgreSQL

# What a request may take while PostgreSQL is frozen: DATABASE_TIMEOUT (3 s) for the reply
# that never comes, as much again to find that a new connection cannot be made, and room.
DATABASE_OUTAGE_BOUND = 10.0
READINESS_BOUND = 2.5


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def site_on_postgres(request, tmp_path, postgres, fake):
    """One production instance on our own PostgreSQL (emptied first), without Redis."""
    postgres.thaw()
    reset_postgres(postgres.url)
    env = production_env(tmp_path, DATABASE_URL=postgres.url)
    server, token = site_with_alice(request, tmp_path, env, fake)
    return server, token


def saves_and_reads(url: str, token: str, fake_url: str, count: int) -> list[tuple[str, int, float, str | None]]:
    """Concurrent saves (each of another server URL), reads and sign-ins: (what, status,
    seconds, the URL a save sent)."""
    def one(n: int) -> tuple[str, int, float, str | None]:
        sent = None
        if n % 3 == 0:
            sent = f"{fake_url}/v{n}"
            call = lambda: requests.put(f"{url}/api/users/me/immich-config", headers=bearer(token), timeout=60,  # noqa: E731
                                        json={"serverUrl": sent, "apiKey": ALICE_KEY, "enabled": True})
        elif n % 3 == 1:
            call = lambda: requests.get(f"{url}/api/users/me", headers=bearer(token), timeout=60)  # noqa: E731
        else:
            call = lambda: requests.get(f"{url}/api/users/me/immich-config", headers=bearer(token),  # noqa: E731
                                        timeout=60)
        answer, response = timed(str(n % 3), call)
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) > 0
            assert response.json() == {"success": False,
                                       "error": "The database is unavailable; try again shortly"}
        return answer.what, answer.status, answer.seconds, sent

    # Six at once, of the instance's eight threads: the load balancer's probe finds one free.
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(one, range(count)))


def readiness(url: str) -> tuple[int, float]:
    answer, _ = timed("readyz", lambda: requests.get(f"{url}/readyz", timeout=30))
    return answer.status, answer.seconds


def until_recovered(url: str, token: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while requests.get(f"{url}/api/users/me", headers=bearer(token), timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "no recovery without a restart"
        time.sleep(0.2)


def test_with_postgresql_frozen_every_request_answers_in_seconds_and_it_recovers(site_on_postgres, postgres, fake):
    server, token = site_on_postgres
    before = saves_and_reads(server.url, token, fake.url, 6)
    assert {status for _, status, _, _ in before} == {200}
    # The saves run at once: whichever commits last is the one kept.
    saved_before = {sent for _, _, _, sent in before if sent}

    postgres.freeze()
    try:
        with ThreadPoolExecutor(2) as pool:
            probes = pool.submit(lambda: [readiness(server.url) for _ in range(3)])
            during = saves_and_reads(server.url, token, fake.url, 24)
            for status, seconds in probes.result():
                assert status == 503 and seconds < READINESS_BOUND
    finally:
        postgres.thaw()
    assert {status for _, status, _, _ in during} == {503}, during
    assert max(seconds for _, _, seconds, _ in during) < DATABASE_OUTAGE_BOUND, during

    until_recovered(server.url, token)
    assert readiness(server.url)[0] == 200
    # A save answered 200 is kept; one answered 503 may or may not have reached the database
    # before it froze (the commit was sent, its answer never came).
    kept = requests.get(f"{server.url}/api/users/me/immich-config", headers=bearer(token), timeout=10)
    saved_during = {sent for _, _, _, sent in during if sent}
    assert kept.json()["data"]["serverUrl"] in saved_during | saved_before
    after = saves_and_reads(server.url, token, fake.url, 6)
    assert {status for _, status, _, _ in after} == {200}
    assert requests.get(f"{server.url}/api/users/me/immich-config", headers=bearer(token),
                        timeout=10).json()["data"]["serverUrl"] in {sent for _, _, _, sent in after if sent}
    outage = logged(server, "database unavailable")
    assert outage and all(entry["dependency"] == "database" for entry in outage)
    assert logged(server, "unexpected") == []


def test_with_postgresql_stopped_requests_fail_fast_and_it_recovers(site_on_postgres, postgres, fake):
    server, token = site_on_postgres
    postgres.stop()
    try:
        during = saves_and_reads(server.url, token, fake.url, 12)
        status, seconds = readiness(server.url)
        assert status == 503 and seconds < READINESS_BOUND
    finally:
        postgres.start()
    assert {status for _, status, _, _ in during} == {503}
    assert max(seconds for _, _, seconds, _ in during) < DATABASE_OUTAGE_BOUND
    until_recovered(server.url, token)
    assert {status for _, status, _, _ in saves_and_reads(server.url, token, fake.url, 6)} == {200}


def test_the_readme_backup_commands_run_as_written(postgres, tmp_path):
    """The Backups section's shell lines, with DATABASE_URL as the app is given it."""
    import re
    import subprocess
    from pathlib import Path

    backups = (Path(__file__).resolve().parent.parent / "README.md").read_text().split("## Backups", 1)[1]
    script = re.search(r"```sh\n(.*?)```", backups, re.S).group(1)
    result = subprocess.run(["bash", "-euc", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin:/usr/local/bin", "DATABASE_URL": postgres.url})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "atlas.dump").stat().st_size > 0
