"""Accounts: registration, sign-in and look-up. Knows nothing of HTTP."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.auth import throttle
from service.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, verify_password
from service.config import RateLimit
from service.errors import InvalidInput
from service.extensions import db
from service.models import FirstAccount, User

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}$")
ROLES = ("USER", "ADMIN")


class AccountError(InvalidInput, ValueError):
    """Bad account input; the message is safe to show."""


class EmailTaken(AccountError):
    status = 409


class RegistrationClosed(AccountError):
    status = 403


class InvalidCredentials(AccountError):
    status = 401
    message = "Invalid email or password"


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if not EMAIL.match(value):
        raise AccountError("email must be a valid email address")
    return value


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AccountError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise AccountError(f"password must be at most {MAX_LENGTH} characters")


FIRST = 1  # the one slot of FirstAccount


class _NotFirst(Exception):
    """Another account claimed the first slot while this one was being made."""


def first_account_claimed() -> bool:
    return db.session.get(FirstAccount, FIRST) is not None


def create_user(*, email: str, password: str, name: str | None = None, role: str | None = None,
                registration_open: bool = True) -> User:
    """Create an account. The first account ever made is an ADMIN and may always register:
    of several at once, the one whose claim of the first slot commits (in any process)."""
    user = User(email=normalize_email(email), name=(name or "").strip() or None, role=role)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    if not first_account_claimed():
        try:
            return _insert(user, first=True)
        except _NotFirst:
            user = User(email=user.email, name=user.name, role=role, password_hash=user.password_hash)
    if not registration_open:
        raise RegistrationClosed("Registration is closed; ask an administrator for an account")
    return _insert(user, first=False)


def _insert(user: User, *, first: bool) -> User:
    user.role = user.role or ("ADMIN" if first else "USER")
    session = db.session
    session.add(user)
    try:
        session.flush()
        if first:
            session.add(FirstAccount(slot=FIRST, user_id=user.id))
            session.flush()
        session.commit()
    except IntegrityError:
        session.rollback()
        if first and first_account_claimed():
            raise _NotFirst() from None
        raise EmailTaken("An account with this email already exists") from None
    return user


def sign_in(*, email: str, password: str, address: str, per_address: RateLimit, per_account: RateLimit) -> User:
    """The account these credentials open, or InvalidCredentials; TooManyAttempts (429) while
    this client address or this account has failed too often (service.auth.throttle)."""
    attempt = throttle.begin_attempt(email=email.strip().lower(), address=address, per_address=per_address,
                                     per_account=per_account)
    user = authenticate(email=email, password=password)
    if user is None:
        raise InvalidCredentials()
    throttle.forget(attempt)
    return user


def authenticate(*, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user


def get_user(user_id: str | uuid.UUID) -> User | None:
    try:
        key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    return db.session.get(User, key)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def set_password(user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = hash_password(password)
    db.session.commit()
