"""Where the app's files are: in a source checkout, beside service/ (templates/, static/,
migrations/, node_modules/); in an installed wheel, inside the package (service/bundled/, and
service/vendor/ for the browser libraries that scripts/vendor.py put there at build time)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
BUNDLED = PACKAGE / "bundled"


def resource_path(name: str) -> Path:
    """templates, static, migrations or gunicorn.conf.py: the package's copy when installed."""
    bundled = BUNDLED / name
    return bundled if bundled.exists() else CHECKOUT / name


def vendor_root() -> Path:
    """The folder holding the npm packages (laid out as node_modules/ is), vendored copy first."""
    vendored = PACKAGE / "vendor"
    return vendored if vendored.is_dir() else CHECKOUT / "node_modules"


def default_instance_path() -> Path:
    """instance/ of the checkout when run from one, else of the working directory."""
    if (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "service").is_dir():
        return CHECKOUT / "instance"
    return Path.cwd() / "instance"
