"""`photo-atlas`, the operator's command: the friendly face of `flask --app wsgi …`.
`photo-atlas serve` runs gunicorn with the package's gunicorn.conf.py; every other command
(db-upgrade, doctor, create-user, reset-password, list-users, generate-key, rotate-key) is
the app's own Flask command, run with the settings from the environment."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from service import create_app
from service.resources import resource_path


def _app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app, add_default_commands=False, set_debug_flag=False)
def main() -> None:
    """Photo Atlas: your own Immich photos on a map timeline."""


@main.command("serve", with_appcontext=False)
def serve() -> None:
    """Serve on HOST:PORT (default 127.0.0.1:8000) with gunicorn's threaded workers."""
    config = str(resource_path("gunicorn.conf.py"))
    # gunicorn replaces this process, so a service manager's signals reach it directly.
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", config,  # noqa: S606
                              "service:create_app()"])
