"""Who is calling: Immich's credential precedence, API keys and their permissions."""

from __future__ import annotations

from urllib.parse import unquote

from .accounts import API_KEYS, ApiKey
from .responses import Reply
from .transport import ParsedRequest


def authenticate(request: ParsedRequest, reply: Reply, permission: str) -> ApiKey | None:
    """The caller's API key when it grants ``permission``; else answer 401/403 and return None.

    Share keys, share slugs and session tokens are looked at first, as Immich does; the fake
    knows none of them, so any of them is a 401 even next to a good API key."""
    h, q = request.headers, request.query
    share_key = h.get("x-immich-share-key") or q.get("key")
    share_slug = h.get("x-immich-share-slug") or q.get("slug")
    bearer = None
    auth_type, _, token = (h.get("authorization") or "").partition(" ")
    if auth_type.lower() == "bearer":
        bearer = token.split(" ", 1)[0]
    cookie_token = None
    for part in (h.get("cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "immich_access_token" and value:
            cookie_token = unquote(value)
            break
    session = (
        h.get("x-immich-user-token") or h.get("x-immich-session-token") or q.get("sessionKey") or bearer or cookie_token
    )
    api_key = h.get("x-api-key") or q.get("apiKey")
    if share_key:
        reply.error(401, "Invalid share key", "Unauthorized")
        return None
    if share_slug:
        reply.error(401, "Invalid share slug", "Unauthorized")
        return None
    if session:
        reply.error(401, "Invalid user token", "Unauthorized")
        return None
    if not api_key:
        reply.error(401, "Authentication required", "Unauthorized")
        return None
    key = API_KEYS.get(api_key)
    if key is None:
        reply.error(401, "Invalid API key", "Unauthorized")
        return None
    if not key.grants(permission):
        reply.error(403, f"Missing required permission: {permission}", "Forbidden")
        return None
    return key
