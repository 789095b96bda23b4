"""Per-account directory settings: validated before they are kept, and what sign-in reads.

Everything a sign-in later puts together with user input is checked here
once: the URL (``ldap://`` or ``ldaps://``), DNs (RFC 4514), filter templates
(RFC 4515) with their ``{username}`` / ``{dn}`` placeholders, the CA
certificates, and the mapping of directory groups to roles or grants. The
service account's password is not part of these settings: it is sealed
apart under the cloud's master key and never returned.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from ldap3.core.exceptions import LDAPException
from ldap3.operation.search import parse_filter
from ldap3.utils.dn import escape_rdn, parse_dn

from edgeward.cloud.errors import InvalidRequest
from edgeward.cloud.identity import grants as grant_maps

USERNAME = "{username}"
DN = "{dn}"
BIND_METHODS = ("direct", "search")
# "ldaps" is TLS from the first byte (ldaps:// URLs); "starttls" upgrades an
# ldap:// connection before anything else is sent (RFC 4513 §3); "none" sends
# passwords in the clear and must be asked for by name.
TLS_MODES = ("starttls", "none")
DEFAULT_USER_FILTER = "(&(objectClass=inetOrgPerson)(uid={username}))"
DEFAULT_GROUP_FILTER = "(&(objectClass=groupOfNames)(member={dn}))"
DEFAULT_TOKEN_LIFETIME_S = 8 * 3600
DEFAULT_TIMEOUT_S = 5
DEFAULT_MAX_CONNECTIONS = 4


def normalize_dn(dn: str) -> str:
    """A DN for comparison (RFC 4514): each value unescaped, lower-cased and escaped
    again one way, so ``uid=smith\\, j`` and ``UID=Smith\\2C J`` compare equal. Attribute
    values compare case-insensitively in every directory we target."""
    normalized = []
    for kind, value, separator in parse_dn(dn, strip=True):
        plain = _unescape(value).lower()
        normalized.append(f"{kind.lower()}={escape_rdn(plain) if plain else ''}{separator}")
    return "".join(normalized)


def _unescape(value: str) -> str:
    """An RFC 4514 attribute value without its escapes (``\\,`` and hex pairs ``\\2C``)."""
    out = bytearray()
    index = 0
    while index < len(value):
        if value[index] == "\\" and index + 1 < len(value):
            pair = value[index + 1 : index + 3]
            if len(pair) == 2 and all(c in string.hexdigits for c in pair):
                out += bytes.fromhex(pair)
                index += 3
                continue
            index += 1
        out += value[index].encode()
        index += 1
    return out.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class GroupMapping:
    group: str  # normalized DN
    role: str | None
    grants: grant_maps.Grants  # the role's grants, or the explicit ones

    def to_json(self) -> dict[str, Any]:
        if self.role is not None:
            return {"group": self.group, "role": self.role}
        return {"group": self.group, "grants": grant_maps.to_json(self.grants)}


@dataclass(frozen=True, slots=True)
class DirectorySettings:
    url: str
    tls: str  # "ldaps", "starttls" or "none"
    ca_pem: str | None
    base_dn: str
    user_filter: str
    bind_method: str  # "direct": bind as user_dn_template; "search": find with service_dn
    user_dn_template: str | None
    service_dn: str | None
    group_base_dn: str
    group_filter: str
    mapping: tuple[GroupMapping, ...]
    token_lifetime_s: int
    timeout_s: int  # whole seconds: ldap3 packs the receive timeout as an integer
    max_connections: int

    def to_json(self) -> dict[str, Any]:
        """What is stored and what GET shows (the password is never part of it)."""
        return {
            "url": self.url,
            "tls": self.tls,
            "ca_pem": self.ca_pem,
            "base_dn": self.base_dn,
            "user_filter": self.user_filter,
            "bind": {
                "method": self.bind_method,
                "dn_template": self.user_dn_template,
                "service_dn": self.service_dn,
            },
            "groups": {"base_dn": self.group_base_dn, "filter": self.group_filter},
            "mapping": [entry.to_json() for entry in self.mapping],
            "token_lifetime_s": self.token_lifetime_s,
            "timeout_s": self.timeout_s,
            "max_connections": self.max_connections,
        }

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> DirectorySettings:
        return validate(stored)

    def grants_for(self, groups: Iterable[str]) -> tuple[grant_maps.Grants, list[str]]:
        """What the mapping gives members of ``groups`` (never more), and which groups
        counted."""
        member_of = {normalize_dn(group) for group in groups}
        given: dict[str, frozenset[str]] = {}
        matched = []
        for entry in self.mapping:
            if entry.group in member_of:
                matched.append(entry.group)
                for api, verbs in entry.grants.items():
                    given[api] = given.get(api, frozenset()) | verbs
        return given, sorted(set(matched))


def validate(body: Mapping[str, Any]) -> DirectorySettings:
    """Settings from a request body (or storage), every problem named by its field."""
    url, tls = _url_and_tls(str(body.get("url", "")), body.get("tls"))
    base_dn = _dn(str(body.get("base_dn", "")), "base_dn")
    bind = dict(body.get("bind") or {})
    method = bind.get("method")
    if method not in BIND_METHODS:
        raise InvalidRequest(f"expected one of {', '.join(BIND_METHODS)}", field="bind.method")
    dn_template = service_dn = None
    if method == "direct":
        dn_template = _template(bind.get("dn_template"), USERNAME, "bind.dn_template", _dn)
    else:
        service_dn = _dn(str(bind.get("service_dn") or ""), "bind.service_dn")
    groups = dict(body.get("groups") or {})
    group_filter = str(groups.get("filter") or DEFAULT_GROUP_FILTER)
    if USERNAME not in group_filter and DN not in group_filter:
        raise InvalidRequest("must contain {dn} or {username}", field="groups.filter")
    _filter(group_filter.replace(USERNAME, "x").replace(DN, "x"), "groups.filter")
    return DirectorySettings(
        url=url,
        tls=tls,
        ca_pem=_ca_pem(body.get("ca_pem")),
        base_dn=base_dn,
        user_filter=_template(
            body.get("user_filter") or DEFAULT_USER_FILTER, USERNAME, "user_filter", _filter
        ),
        bind_method=method,
        user_dn_template=dn_template,
        service_dn=service_dn,
        group_base_dn=_dn(str(groups.get("base_dn") or base_dn), "groups.base_dn"),
        group_filter=group_filter,
        mapping=tuple(_mapping(body.get("mapping") or [])),
        token_lifetime_s=int(body.get("token_lifetime_s") or DEFAULT_TOKEN_LIFETIME_S),
        timeout_s=int(body.get("timeout_s") or DEFAULT_TIMEOUT_S),
        max_connections=int(body.get("max_connections") or DEFAULT_MAX_CONNECTIONS),
    )


def _url_and_tls(url: str, tls: Any) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(f"not a URL: {exc}", field="url") from exc
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise InvalidRequest("expected ldap://host[:port] or ldaps://host[:port]", field="url")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidRequest("the URL names a server only: no DN, query or user", field="url")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    canonical = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    if parts.scheme == "ldaps":
        if tls not in (None, "ldaps"):
            raise InvalidRequest("an ldaps:// URL is TLS already; leave tls out", field="tls")
        return canonical, "ldaps"
    if tls is None:
        return canonical, "starttls"
    if tls not in TLS_MODES:
        raise InvalidRequest(f"expected one of {', '.join(TLS_MODES)}", field="tls")
    return canonical, str(tls)


def _dn(dn: str, field: str) -> str:
    if not dn.strip():
        raise InvalidRequest("a DN is required here", field=field)
    try:
        normalize_dn(dn)
    except (LDAPException, ValueError, IndexError) as exc:
        raise InvalidRequest(f"not a DN (RFC 4514): {dn!r}", field=field) from exc
    return dn


def _filter(text: str, field: str) -> str:
    try:
        # ldap3's own filter compiler (untyped): what it refuses, a search would too.
        parse_filter(text, None, False, False, None, False)  # type: ignore[no-untyped-call]
    except (LDAPException, ValueError, IndexError) as exc:
        raise InvalidRequest(f"not an LDAP filter (RFC 4515): {text!r}", field=field) from exc
    return text


def _template(text: Any, placeholder: str, field: str, check: Any) -> str:
    """A DN or filter with ``placeholder`` where the escaped user input goes."""
    if not isinstance(text, str) or placeholder not in text:
        raise InvalidRequest(f"must contain {placeholder}", field=field)
    check(text.replace(placeholder, "x"), field)
    return text


def _ca_pem(text: Any) -> str | None:
    if text is None or text == "":
        return None
    try:
        x509.load_pem_x509_certificates(str(text).encode())
    except ValueError as exc:
        raise InvalidRequest("expected PEM CA certificates", field="ca_pem") from exc
    return str(text)


def _mapping(entries: Iterable[Mapping[str, Any]]) -> Iterable[GroupMapping]:
    for index, entry in enumerate(entries):
        field = f"mapping[{index}]"
        group = normalize_dn(_dn(str(entry.get("group") or ""), f"{field}.group"))
        role, explicit = entry.get("role"), entry.get("grants")
        if (role is None) == (explicit is None):
            raise InvalidRequest("give either a role or grants for a group", field=field)
        if role is not None:
            if role not in grant_maps.ROLES:
                raise InvalidRequest(
                    f"unknown role {role!r}; allowed: {', '.join(grant_maps.ROLES)}",
                    field=f"{field}.role",
                )
            yield GroupMapping(group, str(role), grant_maps.ROLE_GRANTS[role])
        else:
            if not isinstance(explicit, Mapping):
                raise InvalidRequest("expected {api: [verbs]}", field=f"{field}.grants")
            yield GroupMapping(group, None, grant_maps.parse(explicit, field=f"{field}.grants"))
