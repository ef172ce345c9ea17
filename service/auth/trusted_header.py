"""Sign-in by a header that a trusted reverse proxy sets (Authelia, Authentik, oauth2-proxy):
believed only when the connection itself comes from one of the proxies' addresses."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

from service.auth.oidc import SignInFailed


class UntrustedPeer(SignInFailed):
    status = 403
    code = "untrusted_proxy"
    message = "Single sign-on through the proxy is not available from here. Sign in below."


class NoHeader(SignInFailed):
    status = 401
    code = "no_proxy_user"
    message = "The proxy did not say who you are. Sign in below."


def is_trusted_peer(peer: str | None, proxies: Iterable[IPv4Network | IPv6Network]) -> bool:
    """Whether the socket's peer address is one of the trusted proxies' (IPv4-mapped unwrapped)."""
    try:
        address = ip_address((peer or "").split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:  # type: ignore[union-attr]
        address = address.ipv4_mapped  # type: ignore[union-attr]
    return any(address in network for network in proxies)


def header_email(*, value: str | None, peer: str | None,
                 proxies: Iterable[IPv4Network | IPv6Network]) -> str:
    """The email the header names, if the peer may say it."""
    if not is_trusted_peer(peer, proxies):
        raise UntrustedPeer()
    email = (value or "").strip()
    if not email:
        raise NoHeader()
    return email
