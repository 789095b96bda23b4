"""Forwarding one call: the target, the headers that go out and come back, the send.

Target: ``/v1/proxy/<scheme>/<host[:port]>/<path>?<query>``, scheme ``http``
or ``https``; e.g. ``/v1/proxy/https/api.vendor.example/v2/items?key=[~vendorkey]``;
or ``/v1/proxy/connections/<connection id>/<path>``: the connection's API base
URL (or the instance URL its vendor returned), with its access token.

Headers, deliberately (RFC 9110 section 7.6.1 for hop-by-hop fields):

- hop-by-hop fields (``Connection`` and the fields it names, ``Keep-Alive``,
  ``TE``, ``Trailer``, ``Transfer-Encoding``, ``Upgrade``,
  ``Proxy-Authorization``, ``Proxy-Authenticate``) are never forwarded;
  ``Host`` and ``Content-Length`` are set for the destination;
- ``Authorization`` and ``Cookie`` carry the caller's credential for
  Edgeward and are never forwarded. A call that needs them at the
  destination sends ``Edgeward-Forward-Authorization`` /
  ``Edgeward-Forward-Cookie`` (e.g. ``Bearer [~vendorkey]``), forwarded
  under the real name;
- from the answer, hop-by-hop fields and ``Set-Cookie`` (the answer goes
  out under the cloud's origin) are dropped; the body is streamed back
  as it came (``Content-Encoding`` and ``Content-Length`` kept).

Redirects are not followed: a 3xx goes back to the application as it came,
and following it is a new proxied call, checked like the first (hosts,
positions, SSRF), so a redirect can never carry a secret to a host the
secret does not list.
"""

from __future__ import annotations

import http.cookiejar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from edgeward.cloud.errors import InvalidRequest, SubstitutionRefused
from edgeward.cloud.proxy.substitution import URL_OPENING

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "authorization", "cookie"}
FORWARD_PREFIX = "edgeward-forward-"
FORWARDABLE = {
    "edgeward-forward-authorization": "authorization",
    "edgeward-forward-cookie": "cookie",
}
NOT_RETURNED = HOP_BY_HOP | {"set-cookie"}
PREFIX = "/v1/proxy/"


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    authority: str
    host: str
    path: str  # raw, percent-encoded as it came, starting with "/"
    query: str  # raw

    def url(self, path: str, query: str) -> str:
        return f"{self.scheme}://{self.authority}{path}" + (f"?{query}" if query else "")


def parse_target(raw_path: str, query: str) -> Target:
    """``/v1/proxy/https/host:port/rest`` -> its parts; anything else is a clear 422."""
    rest = raw_path[len(PREFIX) :] if raw_path.startswith(PREFIX) else ""
    scheme, _, rest = rest.partition("/")
    authority, slash, path = rest.partition("/")
    if scheme not in ("http", "https"):
        raise InvalidRequest("expected /v1/proxy/<http|https>/<host[:port]>/<path>", field="target")
    if URL_OPENING.search(authority):
        raise SubstitutionRefused(
            "keychain references are never substituted into the destination host", field="target"
        )
    if authority.startswith("["):
        host, _, after = authority[1:].partition("]")
        port = after[1:] if after.startswith(":") else after or ""
        bad_port_separator = bool(after) and not after.startswith(":")
    else:
        host, _, port = authority.partition(":")
        bad_port_separator = False
    bad_port = bool(port) and not (port.isdigit() and 0 < int(port) < 65536)
    if "@" in authority or not host or bad_port or bad_port_separator:
        raise InvalidRequest(
            f"{authority!r} is not a destination host[:port] (no user info)", field="target"
        )
    return Target(scheme, authority, host.lower(), "/" + path if slash else "/", query)


def target_from_base(base_url: str, rest: str, query: str) -> Target:
    """A connection's call: its API base URL (or instance URL) joined with the rest."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/") + "/" + rest.lstrip("/")
    return Target(parts.scheme, parts.netloc, (parts.hostname or "").lower(), path, query)


def outgoing_headers(incoming: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What goes to the destination, before substitution."""
    named_by_connection = {
        token.strip().lower()
        for name, value in incoming
        if name.lower() == "connection"
        for token in value.split(",")
    }
    out = []
    for name, value in incoming:
        lowered = name.lower()
        if lowered in FORWARDABLE:
            out.append((FORWARDABLE[lowered], value))
        elif lowered.startswith(FORWARD_PREFIX):
            raise InvalidRequest(
                f"{name}: only Edgeward-Forward-Authorization and Edgeward-Forward-Cookie exist",
                field=f"headers.{lowered}",
            )
        elif lowered not in NOT_FORWARDED and lowered not in named_by_connection:
            out.append((name, value))
    return out


def returned_headers(upstream: list[tuple[str, str]]) -> list[tuple[str, str]]:
    named_by_connection = {
        token.strip().lower()
        for name, value in upstream
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [
        (name, value)
        for name, value in upstream
        if name.lower() not in NOT_RETURNED and name.lower() not in named_by_connection
    ]


class NoCookies(http.cookiejar.CookiePolicy):
    """A cookie policy that keeps and sends nothing: the proxy's one httpx client
    serves every account, so a vendor's Set-Cookie must never ride on a later call."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False
