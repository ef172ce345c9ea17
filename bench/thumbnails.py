"""Measurement 4: thumbnails through Photo Atlas against the same thumbnails straight from
the fake, with concurrent clients (one keep-alive connection per thread) and no added latency:
cold (every request a thumbnail the cache does not hold yet) and warm (all from the cache),
then the cache's size bound under three times its size in writes.

The clients share the machine's cores with the servers they measure, so they are as light
as a Python client gets: the standard library's http.client spends about 0.08 ms of CPU on a
thumbnail, where requests spends 0.45 ms, and more again with 32 threads taking turns."""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import AppServer, SignedInUser, cpu_seconds, register_and_sign_in
from bench.stats import Row, check, median, ms, percentile

REQUEST_TIMEOUT = 30.0
ROUND_TIME_LIMIT = 90.0  # seconds for one round of every client
ADDED_LATENCY_TARGET_MS = 2.0
COLD_THROUGHPUT_TARGET = 0.7
COLD_CPU_TARGET_MS = 1.5
WARM_THROUGHPUT_TARGET = 1.5
SINGLE_ADDED_TARGET_MS = 1.5
BOUND_TARGET = 1.05
WARM_IDS = 256
BOUND_CACHE_MB = 4  # the cache whose bound is measured; three times this is written into it
BOUND_TIME_LIMIT = 400.0


@dataclass(frozen=True)
class Endpoint:
    """Where one side's thumbnails come from: an origin, the path of an asset's thumbnail,
    and the headers that sign the request."""
    origin: str
    path: Callable[[str], str]
    headers: dict[str, str]

    def connect(self) -> KeepAlive:
        return KeepAlive(self)


class KeepAlive:
    """One client's keep-alive connection to an endpoint."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        address = urlsplit(endpoint.origin)
        self._connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port,
                                                      timeout=REQUEST_TIMEOUT)

    def get(self, asset_id: str) -> tuple[int, bytes]:
        """The status and body; a connection the server closed while idle is opened again,
        once, as a browser would."""
        path = self._endpoint.path(asset_id)
        try:
            return self._get(path)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self._connection.close()  # http.client connects again on the next request
            return self._get(path)

    def _get(self, path: str) -> tuple[int, bytes]:
        self._connection.request("GET", path, headers=self._endpoint.headers)
        response = self._connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._connection.close()


@dataclass
class RoundResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    requests: int = 0  # timed and untimed, for the CPU per request

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else math.nan


class Ids:
    """Hands out asset ids: the warm set again and again, cold ones never twice."""

    def __init__(self, ids: list[str]) -> None:
        self.warm = ids[:WARM_IDS]
        self._cold = iter(ids[WARM_IDS:])

    def cold(self, count: int) -> list[str]:
        taken = [asset_id for _, asset_id in zip(range(count), self._cold, strict=False)]
        if len(taken) < count:
            raise RuntimeError(f"the bench needs {count} more photos than the fake holds")
        return taken


def _round(endpoint: Endpoint, ids: list[str], clients: int, per_client: int,
           time_limit: float = ROUND_TIME_LIMIT) -> RoundResult:
    """Each client first opens its connection with an untimed request, then all start at once.
    With at least clients * (per_client + 1) ids, no id is asked for twice."""
    result = RoundResult()
    lock = threading.Lock()
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))
    deadline = time.monotonic() + time_limit
    finished: list[float] = []

    def client(index: int) -> None:
        connection = endpoint.connect()
        latencies: list[float] = []
        errors = sent = 0
        try:
            connection.get(ids[(clients * per_client + index) % len(ids)])
            sent += 1
            barrier.wait(timeout=30)
            for i in range(per_client):
                if time.monotonic() > deadline:
                    break
                asset_id = ids[(index * per_client + i) % len(ids)]
                t0 = time.perf_counter()
                sent += 1
                try:
                    status, body = connection.get(asset_id)
                    ok = status == 200 and len(body) > 0
                except (OSError, http.client.HTTPException):
                    ok = False
                elapsed = time.perf_counter() - t0
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1
        except threading.BrokenBarrierError:
            errors += 1
        finally:
            end = time.perf_counter()
            connection.close()
            with lock:
                result.latencies.extend(latencies)
                result.errors += errors
                result.requests += sent
                finished.append(end)

    threads = [threading.Thread(target=client, args=(i,), daemon=True, name=f"bench-thumb-{i}")
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(time_limit + 40)
    if started and finished:
        result.wall = max(finished) - started[0]
    return result


@dataclass
class Side:
    rounds: list[RoundResult] = field(default_factory=list)
    cpu_seconds: float = 0.0

    @property
    def median_ms(self) -> float:
        return ms(median([median(r.latencies) for r in self.rounds]))

    @property
    def p90_ms(self) -> float:
        return ms(median([percentile(r.latencies, 90) for r in self.rounds]))

    @property
    def throughput(self) -> float:
        return median([r.throughput for r in self.rounds])

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def cpu_ms_per_request(self) -> float:
        sent = sum(r.requests for r in self.rounds)
        return self.cpu_seconds / sent * 1000 if sent else math.nan

    def summary(self) -> dict[str, Any]:
        return {
            "median_ms_per_round": [round(ms(median(r.latencies)), 3) for r in self.rounds],
            "p90_ms_per_round": [round(ms(percentile(r.latencies, 90)), 3) for r in self.rounds],
            "throughput_per_round": [round(r.throughput, 1) for r in self.rounds],
            "requests_per_round": [len(r.latencies) for r in self.rounds],
            "errors": self.errors,
            "worker_cpu_ms_per_request": round(self.cpu_ms_per_request, 3),
        }


def _side_by_side(direct: Endpoint, proxied: Endpoint, ids_of_round: Callable[[], list[str]], workers: list[int], *,
                  clients: int, per_client: int, rounds: int) -> tuple[Side, Side]:
    """Rounds of both, alternating which goes first; the same ids for both sides of a round."""
    direct_side, proxied_side = Side(), Side()
    for index in range(rounds):
        ids = ids_of_round()
        order = [(direct_side, direct), (proxied_side, proxied)]
        for side, endpoint in order[::-1] if index % 2 else order:
            before = cpu_seconds(workers)
            side.rounds.append(_round(endpoint, ids, clients, per_client))
            side.cpu_seconds += cpu_seconds(workers) - before
    return direct_side, proxied_side


def run(*, fake: Any, app: AppServer, user: SignedInUser, key: str, ids: list[str], clients: int, per_client: int,
        rounds: int, single_client_requests: int) -> list[Row]:
    fake.latency = 0.0
    pool = Ids(ids)
    workers = app.worker_pids()
    direct, proxied = _direct(fake.url, key), _proxied(user)
    per_round = clients * (per_client + 1)

    cold_direct, cold = _side_by_side(direct, proxied, lambda: pool.cold(per_round), workers,
                                      clients=clients, per_client=per_client, rounds=rounds)
    _warm_up(proxied, pool.warm)
    warm_direct, warm = _side_by_side(direct, proxied, lambda: pool.warm, workers,
                                      clients=clients, per_client=per_client, rounds=rounds)
    # One client alone: the proxy's own cost per request, without queueing.
    single_ids = pool.cold(single_client_requests + 1)
    single = {
        "cold": _side_by_side(direct, proxied, lambda: single_ids, workers, clients=1,
                              per_client=single_client_requests, rounds=1),
        "warm": _side_by_side(direct, proxied, lambda: pool.warm, workers, clients=1,
                              per_client=single_client_requests, rounds=1),
    }
    floor = _server_floor(direct, pool.warm, clients=clients, per_client=per_client, rounds=rounds)
    fake.clear_requests()
    return [*_rows(clients, per_client, rounds, cold_direct, cold, warm_direct, warm, single),
            _floor_row(clients, floor, warm_direct)]


def _server_floor(direct: Endpoint, ids: list[str], *, clients: int, per_client: int, rounds: int) -> Side:
    """The same clients against gunicorn, with the repo's settings, serving an app that sends
    the thumbnail and does nothing else: the most any app behind this server can do here."""
    server = AppServer(app_spec="bench.empty_app:app")
    thumbnail = server.workdir / "thumbnail.jpg"
    thumbnail.write_bytes(_fetch_one(direct, ids[0]))
    server.extra_env["BENCH_THUMBNAIL_FILE"] = str(thumbnail)
    side = Side()
    try:
        server.start()
        workers = server.worker_pids()
        endpoint = Endpoint(server.url, lambda asset_id: f"/thumbnail/{asset_id}", {})
        for _ in range(rounds):
            before = cpu_seconds(workers)
            side.rounds.append(_round(endpoint, ids, clients, per_client))
            side.cpu_seconds += cpu_seconds(workers) - before
    finally:
        server.stop()
    return side


def _floor_row(clients: int, floor: Side, direct: Side) -> Row:
    ratio = floor.throughput / direct.throughput if direct.throughput else math.nan
    return Row("thumbnail_server_floor", f"  gunicorn sending a thumbnail and nothing else, {clients} clients (req/s)",
               "req/s", photo_atlas=floor.throughput, baseline=direct.throughput, value=ratio, value_label="ratio",
               target="info", met=None, details={"empty_app": floor.summary()},
               note=(f"server floor: the repo's gunicorn settings serving an app that only sends the thumbnail, "
                     f"{floor.cpu_ms_per_request:.3f} ms of worker CPU per request, median {floor.median_ms:.1f} ms "
                     f"({floor.errors} errors): no app behind this server answers faster here"))


def _direct(fake_url: str, key: str) -> Endpoint:
    return Endpoint(fake_url, lambda asset_id: f"/api/assets/{asset_id}/thumbnail?size=thumbnail",
                    {"x-api-key": key})


def _proxied(user: SignedInUser) -> Endpoint:
    return Endpoint(user.base_url, lambda asset_id: f"/api/users/me/immich/photos/{asset_id}/thumbnail",
                    user.headers)


def _fetch_one(endpoint: Endpoint, asset_id: str) -> bytes:
    connection = endpoint.connect()
    try:
        return connection.get(asset_id)[1]
    finally:
        connection.close()


def _warm_up(proxied: Endpoint, ids: list[str]) -> None:
    client = proxied.connect()
    for asset_id in ids:
        client.get(asset_id)
    client.close()


def _rows(clients: int, per_client: int, rounds: int, cold_direct: Side, cold: Side, warm_direct: Side, warm: Side,
          single: dict[str, tuple[Side, Side]]) -> list[Row]:
    details = {
        "clients": clients, "requests_per_client": per_client, "rounds": rounds,
        "cold": {"photo_atlas": cold.summary(), "direct": cold_direct.summary()},
        "warm": {"photo_atlas": warm.summary(), "direct": warm_direct.summary()},
        "single_client": {kind: {"photo_atlas": pa.summary(), "direct": d.summary()}
                          for kind, (d, pa) in single.items()},
    }
    errors = cold.errors + warm.errors + cold_direct.errors + warm_direct.errors
    cold_ratio = cold.throughput / cold_direct.throughput if cold_direct.throughput else math.nan
    warm_ratio = warm.throughput / warm_direct.throughput if warm_direct.throughput else math.nan
    warm_added = warm.median_ms - warm_direct.median_ms
    (single_cold_direct, single_cold), (single_warm_direct, single_warm) = single["cold"], single["warm"]
    single_cold_added = single_cold.median_ms - single_cold_direct.median_ms
    note = (f"thumbnails: {clients} clients x {per_client} requests x {rounds} rounds per side, fake latency 0; "
            f"cold: every request a thumbnail not cached yet, p90 {cold.p90_ms:.1f} ms via Photo Atlas, "
            f"{cold_direct.p90_ms:.1f} ms direct; warm: {WARM_IDS} thumbnails all cached, p90 {warm.p90_ms:.1f} ms, "
            f"{warm_direct.p90_ms:.1f} ms direct; {errors} errors; gunicorn workers used {cold.cpu_ms_per_request:.2f} "
            f"ms of CPU per cold request, {warm.cpu_ms_per_request:.2f} ms per warm one")
    return [
        Row("thumbnail_cold_throughput", f"thumbnails not cached, {clients} clients (req/s)", "req/s",
            photo_atlas=cold.throughput, baseline=cold_direct.throughput, value=cold_ratio, value_label="ratio",
            target=f">= {COLD_THROUGHPUT_TARGET:g}",
            met=bool(check(cold_ratio, ">=", COLD_THROUGHPUT_TARGET)) and errors == 0,
            details=details, note=note),
        Row("thumbnail_cold_cpu", "  worker CPU per uncached thumbnail (ms)", "ms",
            photo_atlas=cold.cpu_ms_per_request, baseline=None, value=cold.cpu_ms_per_request, value_label="value",
            target=f"<= {COLD_CPU_TARGET_MS:g} ms", met=check(cold.cpu_ms_per_request, "<=", COLD_CPU_TARGET_MS)),
        Row("thumbnail_cold_latency", f"  median latency not cached, {clients} clients (ms)", "ms",
            photo_atlas=cold.median_ms, baseline=cold_direct.median_ms, value=cold.median_ms - cold_direct.median_ms,
            value_label="diff", target="info", met=None),
        Row("thumbnail_warm_throughput", f"thumbnails cached, {clients} clients (req/s)", "req/s",
            photo_atlas=warm.throughput, baseline=warm_direct.throughput, value=warm_ratio, value_label="ratio",
            target=f">= {WARM_THROUGHPUT_TARGET:g}", met=check(warm_ratio, ">=", WARM_THROUGHPUT_TARGET)),
        Row("thumbnail_warm_latency", f"  median latency cached, {clients} clients (ms)", "ms",
            photo_atlas=warm.median_ms, baseline=warm_direct.median_ms, value=warm_added, value_label="diff",
            target=f"<= +{ADDED_LATENCY_TARGET_MS:g} ms", met=check(warm_added, "<=", ADDED_LATENCY_TARGET_MS)),
        Row("thumbnail_warm_cpu", "  worker CPU per cached thumbnail (ms)", "ms",
            photo_atlas=warm.cpu_ms_per_request, baseline=None, value=warm.cpu_ms_per_request, value_label="value",
            target="info", met=None),
        Row("thumbnail_single_cold", "thumbnail median latency, 1 client, not cached (ms)", "ms",
            photo_atlas=single_cold.median_ms, baseline=single_cold_direct.median_ms, value=single_cold_added,
            value_label="diff", target=f"<= +{SINGLE_ADDED_TARGET_MS:g} ms",
            met=check(single_cold_added, "<=", SINGLE_ADDED_TARGET_MS)),
        Row("thumbnail_single_warm", "  thumbnail median latency, 1 client, cached (ms)", "ms",
            photo_atlas=single_warm.median_ms, baseline=single_warm_direct.median_ms,
            value=single_warm.median_ms - single_warm_direct.median_ms, value_label="diff", target="info", met=None),
    ]


# ------------------------------------------------------------------ the size bound


def folder_bytes(root: Path) -> int:
    """What the folder takes on disk: every file and folder in it, the index included."""
    total = 0
    for path in _walk(root):
        try:
            total += path.lstat().st_blocks * 512
        except OSError:
            continue  # evicted while walking
    return total


def _walk(root: Path) -> Iterator[Path]:
    try:
        children = list(root.iterdir())
    except OSError:
        return
    for child in children:
        yield child
        if child.is_dir() and not child.is_symlink():
            yield from _walk(child)


def run_bound(*, fake_url: str, key: str, ids: list[str], clients: int) -> list[Row]:
    """A second Photo Atlas whose cache holds BOUND_CACHE_MB, sent three times that in new
    thumbnails by `clients` at once (both gunicorn workers writing), its folder measured
    all along and at the end."""
    limit = BOUND_CACHE_MB << 20
    sample = _fetch_one(_direct(fake_url, key), ids[0])
    on_disk = -(-len(sample) // 4096) * 4096  # what one thumbnail takes, at the least
    per_client = math.ceil(3 * limit / on_disk / clients)
    batch = ids[:clients * (per_client + 1)]
    if len(batch) < clients * (per_client + 1):
        raise RuntimeError("the bench needs more photos to fill the cache three times")
    app = AppServer(extra_env={"ACCESS_TOKEN_MINUTES": "120", "THUMBNAIL_CACHE_MB": str(BOUND_CACHE_MB)})
    peak = [0]
    done = threading.Event()
    try:
        app.start()
        user = register_and_sign_in(app.url)
        user.save_immich_config(fake_url, key)
        proxied = _proxied(user)
        folder = app.workdir / "instance" / "thumbnails"

        def watch() -> None:
            while not done.wait(0.25):
                peak[0] = max(peak[0], folder_bytes(folder))

        watcher = threading.Thread(target=watch, daemon=True, name="bench-cache-watch")
        watcher.start()
        result = _round(proxied, batch, clients, per_client, time_limit=BOUND_TIME_LIMIT)
        done.set()
        watcher.join(10)
        if result.errors:
            raise RuntimeError(f"{result.errors} thumbnail requests failed while filling the cache")
        used = folder_bytes(folder)
    finally:
        done.set()
        app.stop()
    worst = max(used, peak[0])
    ratio = worst / limit
    written = result.requests * on_disk / limit
    return [Row("thumbnail_cache_bound", f"thumbnail cache of {BOUND_CACHE_MB} MiB, 3x its size written (MiB)",
                "MB", photo_atlas=worst / (1 << 20), baseline=BOUND_CACHE_MB, value=ratio, value_label="ratio",
                target=f"<= {BOUND_TARGET:g}", met=bool(check(ratio, "<=", BOUND_TARGET)) and written >= 3,
                details={"limit_bytes": limit, "at_end_bytes": used, "peak_bytes": peak[0],
                         "thumbnails_written": result.requests, "bytes_written_at_least": result.requests * on_disk},
                note=(f"cache bound: {result.requests} new thumbnails ({written:.1f}x the "
                      f"bound) from {clients} clients into a {BOUND_CACHE_MB} MiB cache; its folder (files, index "
                      f"and folders) peaked at {peak[0] / (1 << 20):.2f} MiB, ended at {used / (1 << 20):.2f} MiB"))]
