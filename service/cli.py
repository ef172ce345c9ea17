"""Operator commands: `flask --app wsgi <command>`."""

from __future__ import annotations

import sys

import click
from cryptography.fernet import Fernet
from flask import Flask, current_app
from sqlalchemy import select

from service.auth import accounts
from service.db import alembic_config, upgrade_database
from service.doctor import register_doctor
from service.extensions import db
from service.immich.settings import rotate_all_keys
from service.models import User


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def register_commands(app: Flask) -> None:
    register_doctor(app)

    @app.cli.command("db-upgrade")
    def db_upgrade() -> None:
        """Apply the database migrations."""
        upgrade_database(current_app)
        click.echo("Database is up to date.")

    @app.cli.command("db-revision")
    @click.option("-m", "--message", required=True)
    def db_revision(message: str) -> None:
        """Write a new migration from the models (autogenerate)."""
        from alembic import command

        command.revision(alembic_config(db.engine), message=message, autogenerate=True)

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default=None, help="Display name.")
    @click.option("--admin", is_flag=True, help="Make the account an ADMIN.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user(email: str, name: str | None, admin: bool, password_stdin: bool) -> None:
        """Create an account (registration may be closed)."""
        password = _read_password(password_stdin)
        try:
            user = accounts.create_user(email=email, password=password, name=name,
                                        role="ADMIN" if admin else None)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Created {user.role} {user.email} ({user.id}).")

    @app.cli.command("reset-password")
    @click.argument("email")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def reset_password(email: str, password_stdin: bool) -> None:
        """Set a new password for an account."""
        user = accounts.find_user(email)
        if user is None:
            raise click.ClickException(f"No account with email {email}")
        try:
            accounts.set_password(user, _read_password(password_stdin))
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Password changed for {user.email}.")

    @app.cli.command("list-users")
    def list_users() -> None:
        """List every account."""
        for user in db.session.scalars(select(User).order_by(User.created_at)):
            click.echo(f"{user.id}  {user.role:<5}  {user.email}  {user.name or ''}".rstrip())

    @app.cli.command("rotate-key")
    def rotate_key() -> None:
        """Re-encrypt every stored Immich API key under the newest ENCRYPTION_KEYS entry."""
        count = rotate_all_keys()
        click.echo(f"Re-encrypted {count} stored API key(s) under the newest key.")

    @app.cli.command("generate-key")
    def generate_key() -> None:
        """Print a new Fernet key to put first in ENCRYPTION_KEYS."""
        click.echo(Fernet.generate_key().decode())
