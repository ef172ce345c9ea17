"""The install without a build chain: the wheel, built here, installed into a fresh virtualenv
in a folder without node_modules, following the README's "Production" block as written, serves
the pages and the browser libraries from inside the package."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
README_MARK = "<!-- production-install: tests/test_packaging.py runs this block as written -->"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from this checkout as the README says (without network isolation)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "scripts/vendor.py"], cwd=ROOT, check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
                   cwd=ROOT, check=True, timeout=300, capture_output=True)
    (found,) = out.glob("photo_atlas-*.whl")
    return found


def test_the_wheel_carries_pages_migrations_and_libraries_but_no_fakes(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for wanted in ("service/bundled/templates/map.html", "service/bundled/static/js/login-page.js",
                   "service/bundled/migrations/versions/0008_oidc.py", "service/bundled/gunicorn.conf.py",
                   "service/vendor/leaflet/dist/leaflet.js",
                   "service/vendor/leaflet.markercluster/dist/leaflet.markercluster.js",
                   "service/vendor/swagger-ui-dist/swagger-ui-bundle.js", "service/openapi.json"):
        assert wanted in names, wanted
    assert not any(name.startswith(("fake_immich/", "tests/")) for name in names)
    assert "photo-atlas = service.console:main" in entry_points


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """The locked dependencies' files, downloaded once per lock file and kept under build/: the
    install then reads them instead of asking the index for each package (minutes here)."""
    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes()).hexdigest()[:12]
    folder = ROOT / "build" / f"wheelhouse-{digest}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes",
                        "-r", str(ROOT / "requirements.lock"), "-d", str(folder)],
                       check=True, timeout=600, capture_output=True)
        (folder / ".complete").touch()
    return folder


def production_block() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme.split(README_MARK, 1)[1]
    match = re.match(r"\s*```sh\n(.*?)```", after, re.S)
    assert match, "the README's production block is missing"
    return match.group(1)


@pytest.fixture
def installed(wheel: Path, wheelhouse: Path, tmp_path: Path) -> Iterator[str]:
    """The README's block, run in a folder holding only the wheel and the lock file; its URL."""
    folder = tmp_path / "release"
    folder.mkdir()
    shutil.copy(wheel, folder)
    shutil.copy(ROOT / "requirements.lock", folder)
    port = free_port()
    env_file = tmp_path / "photo-atlas.env"
    env_file.write_text("\n".join([
        "PHOTO_ATLAS_ENV=production", "SECRET_KEY=" + "s" * 48, "JWT_SECRET_KEY=" + "j" * 48,
        "ENCRYPTION_KEYS=" + Fernet.generate_key().decode(), f"DATABASE_URL=sqlite:///{tmp_path}/atlas.db",
        f"INSTANCE_PATH={tmp_path}/instance", f"PORT={port}", "WEB_WORKERS=1", "WEB_THREADS=4", ""]))
    script = (production_block().replace("/opt/photo-atlas", str(tmp_path / "opt"))
              .replace("/etc/photo-atlas/photo-atlas.env", str(env_file))
              .replace("photo_atlas-0.1.0-py3-none-any.whl", wheel.name))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p)
    # What an offline install does: pip takes the locked files from a folder (hashes still checked).
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheelhouse))
    log = tmp_path / "install.log"
    with log.open("w") as output:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=env,
                                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 420
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "All checks passed" in log.read_text()
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(20)  # reaped, so no process outlives the test


def test_the_installed_wheel_serves_the_map_with_leaflet_without_node(installed: str) -> None:
    login = requests.get(installed + "/login", timeout=10)
    assert login.status_code == 200 and "Sign in" in login.text
    page = requests.get(installed + "/", timeout=10)
    assert page.status_code == 200 and "/vendor/leaflet/leaflet.js" in page.text
    for path in ("/vendor/leaflet/leaflet.js", "/vendor/leaflet.markercluster/leaflet.markercluster.js",
                 "/static/js/login-page.js", "/api/docs/assets/swagger-ui-bundle.js"):
        response = requests.get(installed + path, timeout=10)
        assert response.status_code == 200 and response.content, path
    register = requests.post(installed + "/api/auth/register", timeout=10,
                             json={"email": "admin@example.com", "password": "correct horse battery"})
    assert register.status_code == 201  # the migrations ran from the package
