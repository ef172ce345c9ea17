"""The server under test: Photo Atlas under gunicorn in its own process group, a signed-in
user whose Immich settings point at the fake, and helpers to watch the worker processes."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"

START_TIMEOUT = 60.0  # seconds for gunicorn to answer /healthz
STOP_TIMEOUT = 10.0  # seconds for a graceful stop before SIGKILL
RSS_SAMPLE_EVERY = 0.01  # seconds between RSS samples


class BenchError(RuntimeError):
    """The bench cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def new_session() -> requests.Session:
    """A keep-alive session that ignores proxy variables and .netrc (loopback only)."""
    session = requests.Session()
    session.trust_env = False
    return session


def _tool(name: str) -> str:
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


@dataclass
class AppServer:
    """gunicorn running the app (or `app_spec`) with the repo's gunicorn.conf.py on a free loopback port."""

    extra_env: dict[str, str] = field(default_factory=dict)
    app_spec: str = "wsgi:app"  # what gunicorn serves
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="photo-atlas-bench-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        env.update(
            HOST=LOOPBACK,
            PORT=str(self.port),
            PHOTO_ATLAS_ENV="development",
            DATABASE_URL=f"sqlite:///{self.sqlite_path}",
            INSTANCE_PATH=str(self.workdir / "instance"),
            ALLOWED_IMMICH_HOSTS="loopback",
            SEARCH_CACHE_SECONDS="60",
            REGISTRATION_OPEN="false",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.port = free_port()
        (self.workdir / "instance").mkdir(parents=True, exist_ok=True)
        env = self.env()
        upgrade = subprocess.run(
            [_tool("flask"), "--app", "wsgi", "db-upgrade"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        if upgrade.returncode != 0:
            raise BenchError(f"db-upgrade failed:\n{upgrade.stdout}\n{upgrade.stderr}")
        self._log = open(self.workdir / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [_tool("gunicorn"), "--config", "gunicorn.conf.py", self.app_spec],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends master and workers
        )
        deadline = time.monotonic() + START_TIMEOUT
        session = new_session()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if session.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            raise BenchError(f"gunicorn did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")
        # Every worker must be up, not only the first to answer.
        workers = int(env.get("WEB_WORKERS", "2"))
        while time.monotonic() < deadline and len(self.worker_pids()) < workers:
            time.sleep(0.1)
        session.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = (self.workdir / "gunicorn.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def sqlite_path(self) -> Path:
        return self.workdir / "bench.db"

    def server_ms(self, request_id: str) -> float | None:
        """The duration_ms the app logged for the request sent with this X-Request-Id."""
        try:
            with open(self.workdir / "gunicorn.log", errors="replace") as log:
                for line in log:
                    if request_id not in line:
                        continue
                    entry = json.loads(line)
                    # Its upstream calls are logged with the same id and a duration of their own.
                    if (entry.get("request_id") == request_id and entry.get("logger") == "photo_atlas.request"
                            and "upstream_path" not in entry):
                        return float(entry["duration_ms"])
        except (OSError, ValueError, KeyError):
            return None
        return None

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's child processes."""
        if self.process is None or self.process.poll() is not None:
            return []
        return children_of(self.process.pid)

    def stop(self) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None:
            # Whatever is left of the group (a worker stuck in a stream) goes now.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.process = None
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def children_of(pid: int) -> list[int]:
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        found.update(int(part) for part in text.split())
    return sorted(found)


@dataclass(frozen=True)
class Served:
    status: int
    body: bytes
    seconds: float  # from sending the request to the last byte of the answer
    worker: int | None  # the gunicorn worker that answered, when it could be told


def get_on_new_connection(app: AppServer, path: str, headers: dict[str, str], timeout: float) -> Served:
    """One GET on a connection of its own, so that any worker may take it, and which did."""
    conn = http.client.HTTPConnection(LOOPBACK, app.port, timeout=timeout)
    try:
        conn.connect()
        client_port = conn.sock.getsockname()[1]
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - t0
        # The connection is still open (keep-alive): its server side is in one worker.
        worker = serving_worker(app.worker_pids(), app.port, client_port)
    finally:
        conn.close()
    return Served(response.status, body, seconds, worker)


def serving_worker(workers: list[int], server_port: int, client_port: int) -> int | None:
    """Which worker holds the server side of the loopback connection from client_port
    (gunicorn's gthread workers serve a connection on the worker that accepted it)."""
    inode = None
    try:
        with open("/proc/net/tcp") as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
                if int(local, 16) == server_port and int(remote, 16) == client_port:
                    inode = fields[9]
                    break
    except (OSError, IndexError, ValueError):
        return None
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in workers:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                    return pid
            except OSError:
                continue
    return None


def rss_bytes(pid: int) -> int | None:
    """VmRSS of a process, in bytes (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class RssSampler:
    """Samples VmRSS of the given processes every RSS_SAMPLE_EVERY seconds in a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak: dict[int, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="bench-rss")

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                rss = rss_bytes(pid)
                if rss is not None and rss > self.peak.get(pid, 0):
                    self.peak[pid] = rss
            self.samples += 1
            self._stop.wait(RSS_SAMPLE_EVERY)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICKS


@dataclass
class SignedInUser:
    base_url: str
    token: str
    session: requests.Session

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def save_immich_config(self, server_url: str, api_key: str) -> None:
        response = self.session.put(
            f"{self.base_url}/api/users/me/immich-config",
            json={"serverUrl": server_url, "apiKey": api_key, "enabled": True},
            headers=self.headers, timeout=30,
        )
        _expect(response, 200, "saving the Immich settings")


def register_and_sign_in(base_url: str, email: str = "bench@example.com",
                         password: str = "bench-password-1234") -> SignedInUser:
    session = new_session()
    response = session.post(f"{base_url}/api/auth/register",
                             json={"email": email, "password": password, "name": "Bench"}, timeout=30)
    _expect(response, 201, "registering the bench user")
    response = session.post(f"{base_url}/api/auth/login",
                            json={"email": email, "password": password}, timeout=30)
    _expect(response, 200, "signing in")
    token = response.json()["data"]["accessToken"]
    # Bearer only: cookies would require the CSRF header on PUTs.
    session.cookies.clear()
    return SignedInUser(base_url, token, session)


def _expect(response: requests.Response, status: int, doing: str) -> None:
    if response.status_code != status:
        raise BenchError(f"{doing}: HTTP {response.status_code} {response.text[:300]}")


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout
        info["work_tree_modified"] = bool(dirty.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info
