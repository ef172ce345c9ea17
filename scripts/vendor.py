#!/usr/bin/env python3
"""Vendor the browser libraries that package.json lists into service/vendor/<name>/, so a built
wheel serves the UI on a machine without Node. Each package is fetched with `npm pack` at the
version package-lock.json pins, and its tarball must match the lock's sha512 integrity.
Idempotent: nothing is fetched when service/vendor already holds what the lock pins."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "service" / "vendor"
STAMP = ".vendored-from-lock.json"
# Source maps are for debugging the libraries, not for serving: they would triple the wheel.
SKIPPED_SUFFIXES = (".map",)


def pinned() -> dict[str, dict[str, str]]:
    """Each direct dependency's version and integrity, from the lock file."""
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    pins = {}
    for name in sorted(wanted):
        entry = lock.get(f"node_modules/{name}")
        if not entry or "version" not in entry or "integrity" not in entry:
            sys.exit(f"vendor: package-lock.json has no version and integrity for {name}: run npm install")
        pins[name] = {"version": entry["version"], "integrity": entry["integrity"]}
    return pins


def check_integrity(tarball: Path, integrity: str, name: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        sys.exit(f"vendor: {name}: the lock's integrity is {algorithm}, not sha512")
    actual = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if actual != expected:
        sys.exit(f"vendor: {name}: the tarball's sha512 does not match package-lock.json")


def unpack(tarball: Path, destination: Path) -> None:
    with tarfile.open(tarball) as archive:
        members = []
        for member in archive.getmembers():
            if not member.isfile() or member.name.endswith(SKIPPED_SUFFIXES):
                continue
            # npm tarballs hold one top folder ("package/"): drop it.
            member.name = member.name.split("/", 1)[1] if "/" in member.name else member.name
            members.append(member)
        archive.extractall(destination, members=members, filter="data")


def main() -> int:
    pins = pinned()
    stamp = TARGET / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == pins:
        return 0
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor: npm is needed to vendor the browser libraries (only when building, not to run)")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "vendor"
        for name, pin in pins.items():
            # The names and versions come from our own package.json and lock file.
            result = subprocess.run(  # noqa: S603
                [npm, "pack", f"{name}@{pin['version']}", "--pack-destination", tmp, "--json", "--silent"],
                capture_output=True, text=True, check=False, timeout=300,
            )
            if result.returncode != 0:
                sys.exit(f"vendor: npm pack {name}@{pin['version']} failed:\n{result.stderr.strip()}")
            tarball = Path(tmp) / json.loads(result.stdout)[0]["filename"]
            check_integrity(tarball, pin["integrity"], name)
            unpack(tarball, staging / name)
            print(f"vendor: {name} {pin['version']} (sha512 checked)")
        (staging / STAMP).write_text(json.dumps(pins, indent=2) + "\n")
        if TARGET.exists():
            shutil.rmtree(TARGET)
        shutil.copytree(staging, TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
