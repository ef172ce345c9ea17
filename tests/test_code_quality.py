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


def test_every_route_body_is_at_most_ten_lines():
    """Views parse, call one service function and shape the answer; the work lives below."""
    import ast

    long_routes = []
    for path in sorted((ROOT / "service").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            routed = any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                         and d.func.attr in ("get", "post", "put", "patch", "delete", "route")
                         for d in node.decorator_list)
            body = node.body[1:] if ast.get_docstring(node) else node.body
            lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
            if routed and lines > 10:
                long_routes.append(f"{path.name}:{node.name} ({lines} lines)")
    assert long_routes == []
