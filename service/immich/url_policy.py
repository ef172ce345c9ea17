"""Which Immich server addresses Photo Atlas may connect to (ALLOWED_IMMICH_HOSTS)."""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

SETTING = "ALLOWED_IMMICH_HOSTS"

# Refused whatever the list says: link-local, cloud metadata, unspecified, multicast,
# broadcast and reserved ranges.
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "169.254.0.0/16",
        "100.100.100.200/32",
        "168.63.129.16/32",
        "192.0.0.192/32",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "fe80::/10",
        "fd00:ec2::254/128",
        "ff00::/8",
    )
)
PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d (deprecated, still routed by some stacks)
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # ::ffff:0:a.b.c.d (SIIT)
IPV6_ONLY = (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1"))  # in ::/96, but IPv6's own

# What users read; neither names a setting (only the operator can change those).
NEVER_ALLOWED = ("This server's address can never be used: it is link-local, multicast, reserved "
                 "or a cloud metadata address")
NOT_ALLOWED = "This server's address is not allowed here; ask the operator of Photo Atlas to allow it"


class UrlRefused(InvalidInput, ValueError):
    """The URL or the address it resolves to is not allowed; the message says why."""


@dataclass(frozen=True)
class UrlPolicy:
    loopback: bool = False
    private: bool = False
    external: bool = False
    everything: bool = False
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    host_patterns: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> UrlPolicy:
        flags = {"loopback": False, "private": False, "external": False, "everything": False}
        networks = []
        hosts = []
        for raw in text.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                flags["everything"] = True
            elif entry in {"loopback", "private", "external"}:
                flags[entry] = True
            elif "/" in entry:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    raise ValueError(f"{SETTING}: {raw.strip()!r} is not a valid CIDR") from None
            elif _valid_host_pattern(entry):
                hosts.append(entry)
            else:
                raise ValueError(f"{SETTING}: {raw.strip()!r} is not a known entry")
        return cls(networks=tuple(networks), host_patterns=tuple(hosts), **flags)

    def host_listed(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host.lower(), pattern) for pattern in self.host_patterns)

    def address_allowed(self, address: IPAddress, *, host: str = "") -> bool:
        return self.refusal(address, host=host) is None

    def refusal(self, address: IPAddress, *, host: str = "") -> str | None:
        """Why the address is refused, in words for the user; None when it is allowed."""
        ip = unwrap(address)
        if any(ip in net for net in ALWAYS_REFUSED if net.version == ip.version):
            return NEVER_ALLOWED
        if self.everything or (host and self.host_listed(host)):
            return None
        if any(ip in net for net in self.networks if net.version == ip.version):
            return None
        if ip.is_loopback:
            allowed = self.loopback
        elif any(ip in net for net in PRIVATE if net.version == ip.version):
            allowed = self.private
        else:
            allowed = ip.is_global and self.external
        return None if allowed else NOT_ALLOWED

    def check_addresses(self, host: str, addresses: Sequence[str]) -> list[str]:
        """Return the addresses if every one is allowed; otherwise raise UrlRefused."""
        if not addresses:
            raise UrlRefused(f"The server name {host!r} did not resolve: check it, or try its IP address")
        for text in addresses:
            reason = self.refusal(ipaddress.ip_address(text.split("%")[0]), host=host)
            if reason:
                raise UrlRefused(reason)
        return list(addresses)


def unwrap(address: IPAddress) -> IPAddress:
    """IPv4-mapped, -compatible and -translated, NAT64 and 6to4 IPv6 addresses are checked as
    the IPv4 address they carry."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        carriers = (*NAT64, IPV4_TRANSLATED) + ((IPV4_COMPATIBLE,) if address not in IPV6_ONLY else ())
        if any(address in net for net in carriers):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _valid_host_pattern(entry: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-.*")
    return bool(entry) and set(entry) <= allowed


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    seen: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if sockaddr[0] not in seen:
            seen.append(str(sockaddr[0]))
    return seen


@dataclass(frozen=True)
class ServerUrl:
    url: str  # normalised: scheme://host[:port][/path], no trailing slash
    host: str
    port: int


def normalize_server_url(raw: str) -> ServerUrl:
    """Trim, drop trailing slashes and check the URL's form (not yet its address)."""
    text = raw.strip().rstrip("/")
    if any(ch in text for ch in "\r\n\t \\") or not text.isprintable():
        raise UrlRefused("The server address must be a plain http(s) URL without spaces")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UrlRefused("The server address is not a valid URL") from None
    if parts.scheme not in {"http", "https"}:
        raise UrlRefused("The server address must start with http:// or https://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("The server address must not contain a user name or password")
    if not parts.hostname:
        raise UrlRefused("The server address must name a host")
    if parts.query or parts.fragment:
        raise UrlRefused("The server address must not have a query or fragment")
    default_port = 443 if parts.scheme == "https" else 80
    return ServerUrl(
        url=text,
        host=parts.hostname,
        port=port or default_port,
    )


def check_server_url(raw: str, policy: UrlPolicy, resolver: Resolver) -> ServerUrl:
    """Normalise the URL and check every address its host resolves to."""
    server = normalize_server_url(raw)
    policy.check_addresses(server.host, resolver(server.host, server.port))
    return server
