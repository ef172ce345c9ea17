"""Our own Redis and PostgreSQL servers, started by a test so it may kill, freeze (SIGSTOP)
and thaw them without touching anyone else's: each listens on a free port on 127.0.0.1,
in its own process group, with its data in a folder of its own.

PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres`
user through `setpriv` (util-linux), in a folder under /tmp that user can reach.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        pytest.fail(f"{name} is missing: scripts/setup.sh --test installs it")
    return found


def _children(pid: int) -> list[int]:
    """Every process whose parent is `pid` (PostgreSQL's give themselves sessions of their own,
    so its process group does not hold them)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class ServerProcess:
    """A server in a process group of its own; a signal goes to the group and to every child."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                         start_new_session=True)

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)
        for child in _children(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    def freeze(self) -> None:
        """Every process of the server stops where it is: sockets stay open and nothing answers."""
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


class RedisServer(ServerProcess):
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        super().__init__([_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(folder)], folder / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        super().start()
        deadline = time.monotonic() + STARTUP_SECONDS
        client = Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            while True:
                try:
                    client.ping()
                    return
                except RedisConnectionError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.05)
        finally:
            client.close()


class PostgresServer(ServerProcess):
    def __init__(self) -> None:
        self.port = free_port()
        # Under /tmp, not pytest's tmp_path: that one is private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="atlas-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        self.as_user = as_user
        super().__init__([*as_user, _binary("postgres"), "-D", str(self.data), "-p", str(self.port),
                          "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                          "-c", "fsync=off", "-c", "full_page_writes=off"], self.folder / "postgres.log")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not self.data.exists():
            result = subprocess.run(  # noqa: S603
                [*self.as_user, _binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "--no-sync", "-E", "UTF8"], capture_output=True, text=True, timeout=120, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
        if os.geteuid() == 0:
            # The log file is opened by us, as root, before the server drops to its user.
            self.log.touch()
        super().start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
