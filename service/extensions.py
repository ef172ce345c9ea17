"""Extensions, created unbound here and bound to each app in create_app."""

from flask import request
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter

from service.db import Database


def client_address() -> str:
    # ProxyFix (TRUSTED_PROXIES) has already put the real client address here.
    return request.remote_addr or "unknown"


db = Database()
jwt = JWTManager()
limiter = Limiter(key_func=client_address)
