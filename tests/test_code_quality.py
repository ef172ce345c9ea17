"""The linters and the type checker configured in pyproject.toml pass on the tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    paths = ("service", "tests", "fake_immich", "bench", "migrations", "wsgi.py", "gunicorn.conf.py")
    result = run("ruff", "check", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_service():
    result = run("mypy", "service")
    assert result.returncode == 0, result.stdout + result.stderr
