"""A WSGI app that answers every request with one thumbnail's bytes and does nothing else.
Under the repo's gunicorn.conf.py it is the ceiling of any app behind that server: what
gunicorn alone costs a thumbnail."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_THUMBNAIL_FILE"]).read_bytes()
HEADERS = [("Content-Type", "image/jpeg"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
