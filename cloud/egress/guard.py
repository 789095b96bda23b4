"""Outbound HTTP destinations the cloud may reach: the one SSRF guard (webhooks, proxy).

A user-supplied URL must not become a way into the cloud's own network
(OWASP SSRF prevention; cloud metadata at 169.254.169.254 is the classic
target). The host is resolved here, every address it resolves to is
checked, and the connection goes to the checked address ("pinning"):
a name that answers a public address to the check and a private one to the
connection (DNS rebinding) never reaches the private one. The original host
goes in the Host header and, for TLS, as SNI and the name the certificate
must hold.

Non-global addresses (loopback, private, link-local, unique-local, ...)
are refused unless the deployment allows them: webhooks by one switch
(``allow_private``), the proxy by a list of networks
(``EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS``, e.g. ``127.0.0.0/8`` in tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DestinationRefused(Exception):
    """The destination resolves to an address the deployment does not allow."""


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which non-global addresses may be reached: all (``allow_private``) or these networks."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def allows(self, address: IPAddress) -> bool:
        if address.is_global or self.allow_private:
            return True
        return any(address in network for network in self.allowed_networks)


def parse_networks(text: str, source: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1"`` -> networks; a bad entry raises ValueError naming ``source``."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"{source}: {entry!r} is not a network; expected CIDR such as 127.0.0.0/8"
            ) from exc
    return tuple(networks)


async def resolve_checked(host: str, port: int, policy: EgressPolicy) -> IPAddress:
    """The address to connect to; every address ``host`` resolves to must be allowed."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DestinationRefused(f"{host} does not resolve") from exc
    return _checked(host, list(infos), policy)


def _checked(host: str, infos: list[Any], policy: EgressPolicy) -> IPAddress:
    addresses: list[IPAddress] = [ipaddress.ip_address(info[4][0]) for info in infos]
    refused = [address for address in addresses if not policy.allows(address)]
    if not addresses or refused:
        shown: Iterable[object] = refused or ["nothing"]
        raise DestinationRefused(
            f"{host} resolves to {', '.join(map(str, shown))}, not allowed by this deployment"
        )
    return addresses[0]


def pinned_sync(
    url: str, headers: dict[str, str], policy: EgressPolicy
) -> tuple[str, dict[str, Any]]:
    """:func:`pinned` for code running in a worker thread (vendor token endpoints)."""
    if policy.allow_private:
        return url, {}
    host, port = _host_port(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DestinationRefused(f"{host} does not resolve") from exc
    return _pin(url, headers, _checked(host, infos, policy))


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def pinned(
    url: str, headers: dict[str, str], policy: EgressPolicy
) -> tuple[str, dict[str, Any]]:
    """The URL to connect to, pinned to an address checked here, and httpx extensions.

    Sets ``headers["Host"]`` to the original host; with ``allow_private`` the
    URL is returned unchanged (nothing is refused, so there is nothing to pin).
    """
    if policy.allow_private:
        return url, {}
    host, port = _host_port(url)
    return _pin(url, headers, await resolve_checked(host, port, policy))


def _pin(url: str, headers: dict[str, str], address: IPAddress) -> tuple[str, dict[str, Any]]:
    parts = urlsplit(url)
    host, port = _host_port(url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    pinned_url = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, ""))
    return pinned_url, extensions
