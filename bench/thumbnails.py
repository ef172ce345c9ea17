"""Measurement 4: thumbnails through Photo Atlas against the same thumbnails straight from
the fake, with concurrent clients (one keep-alive session per thread) and no added latency."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.harness import AppServer, SignedInUser, cpu_seconds, new_session
from bench.stats import Row, check, median, ms, percentile

REQUEST_TIMEOUT = 30.0
ROUND_TIME_LIMIT = 90.0  # seconds for one round of every client
ADDED_LATENCY_TARGET_MS = 2.0
THROUGHPUT_TARGET = 0.7


@dataclass
class RoundResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall > 0 else math.nan


def _round(make_get: Callable[[requests.Session, str], requests.Response], ids: list[str], clients: int,
           per_client: int) -> RoundResult:
    result = RoundResult()
    lock = threading.Lock()
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))
    deadline = time.monotonic() + ROUND_TIME_LIMIT
    finished: list[float] = []

    def client(index: int) -> None:
        session = new_session()
        latencies: list[float] = []
        errors = 0
        try:
            # One untimed request opens the keep-alive connection.
            make_get(session, ids[index % len(ids)]).close()
            barrier.wait(timeout=30)
            for i in range(per_client):
                if time.monotonic() > deadline:
                    break
                asset_id = ids[(index * per_client + i) % len(ids)]
                t0 = time.perf_counter()
                try:
                    response = make_get(session, asset_id)
                    body = response.content
                    ok = response.status_code == 200 and len(body) > 0
                except requests.RequestException:
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
            session.close()
            with lock:
                result.latencies.extend(latencies)
                result.errors += errors
                finished.append(end)

    threads = [threading.Thread(target=client, args=(i,), daemon=True, name=f"bench-thumb-{i}")
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(ROUND_TIME_LIMIT + 40)
    if started and finished:
        result.wall = max(finished) - started[0]
    return result


def run(*, fake: Any, app: AppServer, user: SignedInUser, key: str, ids: list[str], clients: int, per_client: int,
        rounds: int, single_client_requests: int) -> list[Row]:
    fake.latency = 0.0

    def direct(session: requests.Session, asset_id: str) -> requests.Response:
        return session.get(f"{fake.url}/api/assets/{asset_id}/thumbnail", params={"size": "thumbnail"},
                           headers={"x-api-key": key}, timeout=REQUEST_TIMEOUT)

    def proxied(session: requests.Session, asset_id: str) -> requests.Response:
        return session.get(f"{user.base_url}/api/users/me/immich/photos/{asset_id}/thumbnail",
                           headers=user.headers, timeout=REQUEST_TIMEOUT)

    direct_rounds: list[RoundResult] = []
    proxied_rounds: list[RoundResult] = []
    workers = app.worker_pids()
    worker_cpu = 0.0
    for index in range(rounds):
        order = (("direct", direct), ("proxied", proxied))
        if index % 2:
            order = order[::-1]
        for name, get in order:
            cpu_before = cpu_seconds(workers)
            outcome = _round(get, ids, clients, per_client)
            if name == "proxied":
                worker_cpu += cpu_seconds(workers) - cpu_before
            (direct_rounds if name == "direct" else proxied_rounds).append(outcome)
        fake.clear_requests()
    proxied_requests = sum(len(r.latencies) + r.errors + clients for r in proxied_rounds)  # + warm-ups
    cpu_per_request_ms = worker_cpu / proxied_requests * 1000 if proxied_requests else math.nan

    # One client alone: the proxy's own cost per request, without queueing.
    single = {name: _round(get, ids, 1, single_client_requests)
              for name, get in (("direct", direct), ("proxied", proxied))}
    fake.clear_requests()

    def summary(results: list[RoundResult]) -> dict[str, Any]:
        return {
            "median_ms_per_round": [round(ms(median(r.latencies)), 3) for r in results],
            "p90_ms_per_round": [round(ms(percentile(r.latencies, 90)), 3) for r in results],
            "throughput_per_round": [round(r.throughput, 1) for r in results],
            "requests_per_round": [len(r.latencies) for r in results],
            "errors": sum(r.errors for r in results),
        }

    pa_median = ms(median([median(r.latencies) for r in proxied_rounds]))
    direct_median = ms(median([median(r.latencies) for r in direct_rounds]))
    pa_tput = median([r.throughput for r in proxied_rounds])
    direct_tput = median([r.throughput for r in direct_rounds])
    pa_p90 = ms(median([percentile(r.latencies, 90) for r in proxied_rounds]))
    direct_p90 = ms(median([percentile(r.latencies, 90) for r in direct_rounds]))
    added = pa_median - direct_median
    ratio = pa_tput / direct_tput if direct_tput else math.nan
    errors = sum(r.errors for r in proxied_rounds + direct_rounds)
    details = {
        "clients": clients,
        "requests_per_client": per_client,
        "rounds": rounds,
        "photo_atlas": summary(proxied_rounds),
        "direct": summary(direct_rounds),
        "p90_ms": {"photo_atlas": round(pa_p90, 3), "direct": round(direct_p90, 3)},
        "single_client": {name: summary([r]) for name, r in single.items()},
        "worker_cpu_ms_per_request": round(cpu_per_request_ms, 3),
    }
    single_pa = ms(median(single["proxied"].latencies))
    single_direct = ms(median(single["direct"].latencies))
    return [
        Row("thumbnail_latency", f"thumbnail median latency, {clients} clients (ms)", "ms",
            photo_atlas=pa_median, baseline=direct_median, value=added, value_label="diff",
            target=f"<= +{ADDED_LATENCY_TARGET_MS:g} ms",
            met=bool(check(added, "<=", ADDED_LATENCY_TARGET_MS)) and errors == 0, details=details,
            note=(f"thumbnails: {clients} clients x {per_client} requests x {rounds} rounds per side, fake "
                  f"latency 0; p90 {pa_p90:.1f} ms via Photo Atlas, {direct_p90:.1f} ms direct; "
                  f"{errors} errors; gunicorn workers used {cpu_per_request_ms:.2f} ms of CPU per request")),
        Row("thumbnail_throughput", "thumbnail throughput (req/s)", "req/s",
            photo_atlas=pa_tput, baseline=direct_tput, value=ratio, value_label="ratio",
            target=f">= {THROUGHPUT_TARGET:g}", met=check(ratio, ">=", THROUGHPUT_TARGET)),
        Row("thumbnail_latency_single", "  thumbnail median latency, 1 client (ms)", "ms",
            photo_atlas=single_pa, baseline=single_direct, value=single_pa - single_direct, value_label="diff",
            target="info", met=None),
    ]
