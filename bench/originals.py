"""Measurement 5: one large original streamed through Photo Atlas.

The resident memory (VmRSS) of every gunicorn worker is sampled before and while the file
streams; the figure is the largest growth of any worker. Time to first byte through Photo
Atlas is compared with time to first byte straight from the fake (connections closed after
the first byte, repeated), and the body of each full download is read in 1 MiB chunks,
discarded, counted, and its first and last MiB checked against the fake's bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.harness import AppServer, BenchError, RssSampler, SignedInUser, new_session, rss_bytes
from bench.stats import Row, check, median, ms

CHUNK = 1 << 20
STREAM_TIME_LIMIT = 300.0  # seconds for one full download
RSS_TARGET_MB = 16.0
TTFB_TARGET_MS = 50.0
MB = 1024 * 1024


def _first_byte(url: str, headers: dict[str, str]) -> tuple[float, float]:
    """(time to response headers, time to the first body byte) on a new connection."""
    session = new_session()
    try:
        t0 = time.perf_counter()
        response = session.get(url, headers=headers, stream=True, timeout=(5, 60))
        t_headers = time.perf_counter() - t0
        if response.status_code != 200:
            raise BenchError(f"GET {url}: HTTP {response.status_code}")
        first = response.raw.read(1)
        t_first = time.perf_counter() - t0
        if not first:
            raise BenchError(f"GET {url}: empty body")
        response.close()
        return t_headers, t_first
    finally:
        session.close()


def _download(url: str, headers: dict[str, str], size: int) -> dict[str, Any]:
    session = new_session()
    try:
        t0 = time.perf_counter()
        response = session.get(url, headers=headers, stream=True, timeout=(5, 60))
        if response.status_code != 200:
            raise BenchError(f"GET {url}: HTTP {response.status_code}")
        raw = response.raw
        first = raw.read(1)
        t_first = time.perf_counter() - t0
        head = first + raw.read(CHUNK - 1)
        received = len(head)
        tail = head
        deadline = time.monotonic() + STREAM_TIME_LIMIT
        while True:
            chunk = raw.read(CHUNK)
            if not chunk:
                break
            received += len(chunk)
            tail = (tail + chunk)[-CHUNK:] if len(chunk) < CHUNK else chunk
            if time.monotonic() > deadline:
                response.close()
                raise BenchError(f"GET {url}: not done after {STREAM_TIME_LIMIT:.0f} s ({received} bytes)")
        elapsed = time.perf_counter() - t0
        response.close()
        return {"ttfb": t_first, "seconds": elapsed, "bytes": received, "head": head, "tail": tail,
                "content_length": response.headers.get("Content-Length")}
    finally:
        session.close()


def run(*, fake: Any, app: AppServer, user: SignedInUser, key: str, size: int, ttfb_repeats: int) -> list[Row]:
    fake.latency = 0.0
    asset_id = fake.add_large_original(key, size)
    direct_url = f"{fake.url}/api/assets/{asset_id}/original"
    direct_headers = {"x-api-key": key}
    proxied_url = f"{user.base_url}/api/users/me/immich/photos/{asset_id}/download"
    proxied_headers = user.headers

    # Time to first byte: new connections, closed after the first byte, sides alternating.
    ttfb: dict[str, list[float]] = {"direct": [], "proxied": []}
    to_headers: dict[str, list[float]] = {"direct": [], "proxied": []}
    sides: list[tuple[str, Callable[[], tuple[float, float]]]] = [
        ("direct", lambda: _first_byte(direct_url, direct_headers)),
        ("proxied", lambda: _first_byte(proxied_url, proxied_headers)),
    ]
    _first_byte(proxied_url, proxied_headers)  # warm: imports, pools, the first connection
    for index in range(ttfb_repeats):
        for name, probe in sides if index % 2 == 0 else sides[::-1]:
            t_headers, t_first = probe()
            to_headers[name].append(t_headers)
            ttfb[name].append(t_first)
        time.sleep(0.05)

    expected_head = fake.original_bytes(asset_id, 0, CHUNK - 1)
    expected_tail = fake.original_bytes(asset_id, size - CHUNK, size - 1)

    direct = _download(direct_url, direct_headers, size)

    workers = app.worker_pids()
    if not workers:
        raise BenchError("no gunicorn worker to watch")
    time.sleep(0.5)  # let the early-closed streams above finish unwinding
    before = {pid: rss_bytes(pid) or 0 for pid in workers}
    with RssSampler(workers) as sampler:
        proxied = _download(proxied_url, proxied_headers, size)
        time.sleep(0.2)
    after = {pid: rss_bytes(pid) or 0 for pid in workers}
    growth = {pid: max(sampler.peak.get(pid, 0), after[pid]) - before[pid] for pid in workers}
    worst = max(growth.values()) / MB

    problems = []
    for name, result in (("direct", direct), ("Photo Atlas", proxied)):
        if result["bytes"] != size:
            problems.append(f"{name}: {result['bytes']} bytes, expected {size}")
        if result["head"] != expected_head or result["tail"] != expected_tail:
            problems.append(f"{name}: the bytes differ from the fake's original")
    intact = not problems

    pa_ttfb, direct_ttfb = ms(median(ttfb["proxied"])), ms(median(ttfb["direct"]))
    added_ttfb = pa_ttfb - direct_ttfb
    size_label = f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size // MB} MiB"
    pa_rate = size / proxied["seconds"] / MB
    direct_rate = size / direct["seconds"] / MB
    details = {
        "size_bytes": size,
        "bytes_received": {"photo_atlas": proxied["bytes"], "direct": direct["bytes"]},
        "intact": intact,
        "problems": problems,
        "rss_before_mb": {str(pid): round(v / MB, 2) for pid, v in before.items()},
        "rss_peak_mb": {str(pid): round(sampler.peak.get(pid, 0) / MB, 2) for pid in workers},
        "rss_after_mb": {str(pid): round(v / MB, 2) for pid, v in after.items()},
        "rss_growth_mb": {str(pid): round(v / MB, 2) for pid, v in growth.items()},
        "rss_samples": sampler.samples,
        "ttfb_ms": {k: [round(ms(t), 3) for t in v] for k, v in ttfb.items()},
        "headers_ms": {k: [round(ms(t), 3) for t in v] for k, v in to_headers.items()},
        "ttfb_in_full_download_ms": {"photo_atlas": round(ms(proxied["ttfb"]), 3),
                                     "direct": round(ms(direct["ttfb"]), 3)},
        "download_seconds": {"photo_atlas": round(proxied["seconds"], 3), "direct": round(direct["seconds"], 3)},
        "download_mib_per_s": {"photo_atlas": round(pa_rate, 1), "direct": round(direct_rate, 1)},
    }
    return [
        Row("original_rss", f"{size_label} original: worker RSS growth (MB)", "MB",
            photo_atlas=worst, baseline=None, value=worst, value_label="value",
            target=f"<= {RSS_TARGET_MB:g} MB", met=bool(check(worst, "<=", RSS_TARGET_MB)) and intact,
            details=details,
            note=(f"original: {size_label} streamed in {proxied['seconds']:.1f} s via Photo Atlas "
                  f"({pa_rate:.0f} MiB/s), {direct['seconds']:.1f} s direct ({direct_rate:.0f} MiB/s); "
                  f"bytes {'verified' if intact else 'WRONG: ' + '; '.join(problems)}; "
                  f"RSS growth per worker (MB) {details['rss_growth_mb']}")),
        Row("original_ttfb", "original time to first byte (ms)", "ms",
            photo_atlas=pa_ttfb, baseline=direct_ttfb, value=added_ttfb, value_label="diff",
            target=f"<= +{TTFB_TARGET_MS:g} ms", met=check(added_ttfb, "<=", TTFB_TARGET_MS)),
        Row("original_throughput", "  original download rate (MiB/s)", "MiB/s",
            photo_atlas=pa_rate, baseline=direct_rate, value=pa_rate / direct_rate, value_label="ratio",
            target="info", met=None),
    ]
