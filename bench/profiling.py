"""`--profile`: sample the gunicorn workers with py-spy during a measurement.

Samples are taken only while a thread holds the GIL (where the CPU goes), written as
collapsed stacks to bench/results/profile-<measurement>.txt, with a summary beside it
(profile-<measurement>.summary.txt). Sampling slows the workers a little: the figures of a
profiled run are for diagnosis, not for comparison.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from bench.harness import AppServer
from bench.report import RESULTS_DIR

RATE = 100  # samples per second per worker
_LINE = re.compile(r":\d+\)$")  # "fn (file.py:12)" -> "fn (file.py)": one entry per function


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class Profiler:
    def __init__(self, app: AppServer | None, name: str, enabled: bool) -> None:
        self.app = app
        self.name = name
        self.tool = py_spy() if enabled else None
        self.enabled = enabled and self.tool is not None and app is not None
        self.outputs: list[Path] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self.summary_path: Path | None = None

    def __enter__(self) -> Profiler:
        if not self.enabled or self.app is None or self.tool is None:
            return self
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for index, pid in enumerate(self.app.worker_pids()):
            out = RESULTS_DIR / f"profile-{self.name}-worker{index}.raw"
            self.outputs.append(out)
            self._procs.append(subprocess.Popen(
                [self.tool, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
                 "--rate", str(RATE), "--gil", "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self.outputs:
            self.summary_path = summarise(self.outputs, RESULTS_DIR / f"profile-{self.name}")


def summarise(raw_files: list[Path], stem: Path, top: int = 30) -> Path | None:
    self_counts: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    merged = []
    for path in raw_files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            merged.append(line)
            frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
            self_counts[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
        path.unlink()
    if not total:
        return None
    (stem.parent / f"{stem.name}.txt").write_text("\n".join(merged) + "\n")
    lines = [f"{total} samples with the GIL held ({RATE}/s per worker); collapsed stacks in {stem.name}.txt",
             "", "self (where the CPU is spent):"]
    lines += [f"{c:7d} {c / total:6.1%}  {f}" for f, c in self_counts.most_common(top)]
    lines += ["", "inclusive, the service's own code:"]
    lines += [f"{c:7d} {c / total:6.1%}  {f}" for f, c in inclusive.most_common()
              if "service/" in f][:top]
    lines += ["", "inclusive, everything:"]
    lines += [f"{c:7d} {c / total:6.1%}  {f}" for f, c in inclusive.most_common(top * 2)]
    summary = stem.parent / f"{stem.name}.summary.txt"
    summary.write_text("\n".join(lines) + "\n")
    return summary
