"""The wheel carries the pages, the migrations and the browser libraries inside the package:
templates/, static/, migrations/ and gunicorn.conf.py are copied to service/bundled/, and
service/vendor/ (scripts/vendor.py, from the npm registry, checked against package-lock.json)
is made when missing. Everything else is in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("templates", "static", "migrations", "gunicorn.conf.py")


class build_py_with_files(build_py):  # noqa: N801 (setuptools' naming)
    def run(self) -> None:
        if not (ROOT / "service" / "vendor").is_dir():
            subprocess.run([sys.executable, str(ROOT / "scripts" / "vendor.py")], check=True)  # noqa: S603
        super().run()
        target = Path(self.build_lib) / "service" / "bundled"
        for name in BUNDLED:
            source, destination = ROOT / name, target / name
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)


setup(cmdclass={"build_py": build_py_with_files})
