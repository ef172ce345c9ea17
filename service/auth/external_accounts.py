"""Accounts signed in by someone else: an OpenID Connect provider or a trusted reverse proxy.
Which account an identity is, linking it, and creating it when the operator allows."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.auth import accounts
from service.auth.oidc import SignInFailed
from service.extensions import db
from service.models import User

log = logging.getLogger(__name__)


class EmailNotVerified(SignInFailed):
    status = 403
    code = "unverified_email"
    message = ("Your sign-in provider has not verified your email address, so it cannot be "
               "matched with an account here. Verify it with the provider, or ask the administrator.")


class NoAccount(SignInFailed):
    status = 403
    code = "no_account"
    message = "There is no Photo Atlas account for you yet. Ask the administrator to create one."


class LinkedElsewhere(SignInFailed):
    status = 409
    code = "linked_elsewhere"
    message = "This account is already linked to another sign-in. Ask the administrator."


def _create(email: str, name: str | None) -> User:
    """A new account that signs in only through its provider (its password is random and unknown)."""
    try:
        # Through the one registration path, so the first account ever is still the one ADMIN.
        return accounts.create_user(email=email, password=secrets.token_urlsafe(32), name=name,
                                    registration_open=True)
    except accounts.AccountError:
        raise SignInFailed() from None


def oidc_user(*, issuer: str, claims: dict[str, Any], auto_register: bool) -> User:
    """The account these verified ID token claims sign in, linked or created as allowed."""
    subject = str(claims["sub"])
    user = db.session.scalar(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject))
    if user is not None:
        return user
    email = claims.get("email")
    verified = claims.get("email_verified") is True
    existing = accounts.find_user(email) if isinstance(email, str) and email else None
    if existing is None and not auto_register:
        raise NoAccount()
    if not (isinstance(email, str) and verified):
        raise EmailNotVerified()
    if existing is None:
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        existing = _create(email, name[:200] if name else None)
        log.info("account created at first sign-in through the identity provider")
    elif existing.oidc_subject is not None:
        raise LinkedElsewhere()
    existing.oidc_issuer, existing.oidc_subject = issuer, subject
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise LinkedElsewhere() from None
    return existing


def header_user(*, email: str, auto_register: bool) -> User:
    """The account the trusted proxy's header names, created only when allowed."""
    user = accounts.find_user(email)
    if user is not None:
        return user
    if not auto_register:
        raise NoAccount()
    return _create(email, None)


class PasswordLoginDisabled(accounts.AccountError):
    """PASSWORD_LOGIN=false: accounts sign in only through single sign-on."""

    status = 403
    message = "Signing in with a password is turned off here: use single sign-on"
