"""The files in deploy/ as the tools that read them see them: systemd's unit checker and nginx."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = Path("/usr/sbin/nginx")
needs_systemd = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")


def verify_unit(text: str, folder: Path) -> list[str]:
    """systemd-analyze verify's complaints about the unit (it warns and still exits 0)."""
    # The checker wants ExecStart's binary and the environment file to exist: point them here.
    (folder / "photo-atlas.env").write_text((DEPLOY / "photo-atlas.env.example").read_text())
    unit = folder / "photo-atlas.service"
    unit.write_text(text.replace("/opt/photo-atlas/venv/bin/photo-atlas", "/bin/true")
                    .replace("/etc/photo-atlas/photo-atlas.env", str(folder / "photo-atlas.env")))
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    return [line for line in output.splitlines() if str(unit) in line] + ([output] if result.returncode else [])


@needs_systemd
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    text = (DEPLOY / "photo-atlas.service").read_text()
    for option in ("DynamicUser=yes", "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                   "StateDirectory=photo-atlas", "EnvironmentFile=/etc/photo-atlas/photo-atlas.env"):
        assert option in text
    assert verify_unit(text, tmp_path) == []


@needs_systemd
def test_the_check_catches_a_broken_unit(tmp_path: Path) -> None:
    text = (DEPLOY / "photo-atlas.service").read_text().replace("ProtectSystem=strict", "ProtectSystem=bogus")
    assert verify_unit(text, tmp_path) != []


def test_the_environment_example_names_only_real_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    for line in (DEPLOY / "photo-atlas.env.example").read_text().splitlines():
        name = line.lstrip("# ").split("=", 1)[0]
        if "=" in line and name.isupper():
            assert f"`{name}`" in readme, name


@pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed")
def test_the_authelia_example_is_a_valid_nginx_site(tmp_path: Path) -> None:
    main = tmp_path / "nginx.conf"
    main.write_text(f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{ access_log off; include {DEPLOY / 'nginx-authelia.conf'}; }}\n")
    result = subprocess.run([str(NGINX), "-t", "-c", str(main), "-p", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
