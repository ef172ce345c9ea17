"""Sign-in throttling, counted in the database: every process and instance shares the counts,
with or without Redis, and an outage of Redis cannot switch it off.

Each sign-in is written down before its password is checked, so attempts made at the same
moment count each other; a successful one is then forgotten, a failed one stays. While a
client address has LOGIN_RATE_LIMIT attempts in the window (which limits each account from
that address too), or an account has LOGIN_ACCOUNT_RATE_LIMIT from all addresses together,
the next is refused with 429 and Retry-After. The per-address limit stops guessing from one
place without letting a stranger lock the owner out; the much higher per-account ceiling
bounds guessing spread over many addresses.
"""

from __future__ import annotations

import math
import time

from sqlalchemy import delete, func, select

from service.config import RateLimit
from service.errors import MESSAGES, AppError
from service.extensions import db
from service.models import LoginAttempt


class TooManyAttempts(AppError):
    status = 429
    message = MESSAGES[429]

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.headers = {"Retry-After": str(retry_after)}


def begin_attempt(*, email: str, address: str, per_address: RateLimit, per_account: RateLimit) -> int:
    """Write this sign-in down, or raise TooManyAttempts; returns its id for `forget`."""
    now = time.time()
    address = address[:64]
    session = db.session
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - max(per_address.seconds,
                                                                            per_account.seconds)))
    attempt = LoginAttempt(email=email, address=address, at=now)
    session.add(attempt)
    session.flush()
    attempt_id = attempt.id
    session.commit()
    for same, limit in ((LoginAttempt.address == address, per_address), (LoginAttempt.email == email, per_account)):
        others, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at))
            .where(same, LoginAttempt.at > now - limit.seconds, LoginAttempt.id != attempt_id)
        ).one()
        if others >= limit.amount:
            forget(attempt_id)
            raise TooManyAttempts(max(1, math.ceil(oldest + limit.seconds - now)))
    return attempt_id


def forget(attempt_id: int) -> None:
    """The sign-in succeeded (or was refused before it was tried): it does not count."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
    db.session.commit()
