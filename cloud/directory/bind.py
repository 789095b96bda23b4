"""Binding a user to the directory and reading their groups, with ldap3.

Specs: RFC 4511 (the bind and search operations), RFC 4513 (§3 StartTLS,
§5.1.2 unauthenticated bind), RFC 4515 (user input in filters escaped with
``escape_filter_chars``), RFC 4514 (user input in DNs escaped with
``escape_rdn``), RFC 4530 (``entryUUID``, the stable id a user record is
linked by).

An empty password is refused before anything is sent: a simple bind with a
DN and no password is an *unauthenticated* bind (RFC 4513 §5.1.2), which
some servers answer with success although nobody proved anything.

One connection per sign-in, never shared: a simple bind changes who the
connection is, so a pooled connection would carry one user's identity into
another's sign-in unless rebound (the same round trip as a fresh bind).
Sign-ins are rare (one per token lifetime), so the TCP and TLS setup is
cheap next to what isolation buys; :mod:`.gate` bounds how many run at once
per account so a burst cannot exhaust the enterprise's directory. Referrals
are never followed: they would send the bind to a server nobody configured.

Outcomes: a :class:`DirectoryUser`, :class:`DirectoryRefused` (the user does
not get in; its reason goes to the audit log) or :class:`DirectoryUnavailable`
(503: the directory did not answer, or not as configured).
"""

from __future__ import annotations

import contextlib
import hashlib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ldap3 import NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from edgeward.cloud.directory.settings import DN, USERNAME, DirectorySettings, normalize_dn
from edgeward.cloud.errors import ServiceUnavailable

INVALID_CREDENTIALS = 49  # RFC 4511 §4.1.9 resultCode
SIZE_LIMIT_EXCEEDED = 4
MAX_GROUPS = 1000


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    entry_id: str  # entryUUID (or objectGUID), else a hash of the DN
    dn: str
    username: str  # lower-cased: directory user names compare case-insensitively
    mail: str | None
    groups: tuple[str, ...]


class DirectoryRefused(Exception):
    """The directory did not let this user in; ``reason`` is for the audit log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DirectoryUnavailable(ServiceUnavailable):
    code = "directory_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__("the account's directory is unavailable; try again later", retry_after=5)
        self.reason = reason  # for the audit log: clients learn nothing of the server


def authenticate(
    settings: DirectorySettings, service_password: str | None, username: str, password: str
) -> DirectoryUser:
    """Bind as ``username`` with ``password`` and read their groups."""
    if not password:
        raise DirectoryRefused("empty-password")  # RFC 4513 §5.1.2
    if not username:
        raise DirectoryRefused("empty-username")
    try:
        if settings.bind_method == "direct":
            return _direct(settings, username, password)
        return _search_then_bind(settings, service_password, username, password)
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _direct(settings: DirectorySettings, username: str, password: str) -> DirectoryUser:
    assert settings.user_dn_template is not None
    dn = settings.user_dn_template.replace(USERNAME, escape_rdn(username))
    with _bound(settings, dn, password) as connection:
        if connection is None:
            raise DirectoryRefused("invalid-credentials")
        entry_dn, entry_id, mail = _find_user(connection, settings, username)
        if normalize_dn(entry_dn) != normalize_dn(dn):
            raise DirectoryRefused("entry-mismatch")
        groups = _groups(connection, settings, entry_dn, username)
    return DirectoryUser(entry_id, entry_dn, username.lower(), mail, groups)


def _search_then_bind(
    settings: DirectorySettings, service_password: str | None, username: str, password: str
) -> DirectoryUser:
    assert settings.service_dn is not None
    if not service_password:
        raise DirectoryUnavailable("no service password is set")
    with _bound(settings, settings.service_dn, service_password, service=True) as service:
        assert service is not None
        entry_dn, entry_id, mail = _find_user(service, settings, username)
        with _bound(settings, entry_dn, password) as user:
            if user is None:
                raise DirectoryRefused("invalid-credentials")
        groups = _groups(service, settings, entry_dn, username)
    return DirectoryUser(entry_id, entry_dn, username.lower(), mail, groups)


def lookup(
    settings: DirectorySettings, service_password: str | None, known: dict[str, str]
) -> dict[str, tuple[str, ...] | None]:
    """For each known entry id -> user name, the groups the directory reports now, or
    None when the user filter no longer finds that entry under that name (removed,
    disabled, or the name now belongs to another entry). Needs the service account."""
    if settings.service_dn is None or not service_password:
        raise DirectoryUnavailable("looking users up needs search-then-bind's service account")
    found: dict[str, tuple[str, ...] | None] = {}
    try:
        with _bound(settings, settings.service_dn, service_password, service=True) as service:
            assert service is not None
            for entry_id, username in known.items():
                try:
                    entry_dn, current_id, _ = _find_user(service, settings, username)
                except DirectoryRefused:
                    found[entry_id] = None
                    continue
                same = current_id == entry_id
                found[entry_id] = _groups(service, settings, entry_dn, username) if same else None
    except LDAPException as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    return found


def _server(settings: DirectorySettings) -> Server:
    tls = None
    if settings.tls != "none":
        # CERT_REQUIRED and ldap3's host name check; only the account's CA when it gave one.
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_data=settings.ca_pem)
    return Server(
        settings.url,
        use_ssl=settings.tls == "ldaps",
        tls=tls,
        get_info=NONE,
        connect_timeout=settings.timeout_s,
    )


@contextmanager
def _bound(
    settings: DirectorySettings, dn: str, password: str, service: bool = False
) -> Iterator[Connection | None]:
    """A connection bound as ``dn`` (TLS first when configured), or None if a user's
    credentials were refused; always unbound afterwards. A refused service account is
    the directory unusable as configured, not the user's fault."""
    connection = Connection(
        _server(settings),
        user=dn,
        password=password,
        authentication=SIMPLE,
        read_only=True,
        auto_referrals=False,
        receive_timeout=settings.timeout_s,
        raise_exceptions=False,
    )
    try:
        connection.open()
        if settings.tls == "starttls" and not connection.start_tls():
            raise DirectoryUnavailable("StartTLS was not established")
        if connection.bind():
            yield connection
        elif service:
            description = connection.result.get("description")
            raise DirectoryUnavailable(f"the service account's bind was refused: {description}")
        elif connection.result.get("result") == INVALID_CREDENTIALS:
            yield None
        else:
            raise DirectoryRefused(f"bind-refused: {connection.result.get('description')}")
    finally:
        # An unbind on a broken connection fails too; the first error is the one to report.
        with contextlib.suppress(LDAPException):
            connection.unbind()


def _find_user(
    connection: Connection, settings: DirectorySettings, username: str
) -> tuple[str, str, str | None]:
    """(DN, stable id, mail) of the one entry the user filter finds for ``username``."""
    query = settings.user_filter.replace(USERNAME, escape_filter_chars(username))
    connection.search(
        settings.base_dn,
        query,
        SUBTREE,
        attributes=["entryUUID", "objectGUID", "mail"],
        size_limit=2,
    )
    entries = [item for item in connection.response or [] if item.get("type") == "searchResEntry"]
    code = connection.result.get("result")
    if len(entries) > 1 or code == SIZE_LIMIT_EXCEEDED:
        raise DirectoryRefused("ambiguous-user")
    if code not in (0, 32):  # success, or noSuchObject: nothing found under base_dn
        raise DirectoryUnavailable(f"user search failed: {connection.result.get('description')}")
    if not entries:
        # A disabled user is one the user filter leaves out.
        raise DirectoryRefused("not-found-or-disabled")
    entry = entries[0]
    return str(entry["dn"]), _entry_id(entry), _first(entry, "mail")


def _groups(
    connection: Connection, settings: DirectorySettings, entry_dn: str, username: str
) -> tuple[str, ...]:
    query = settings.group_filter.replace(DN, escape_filter_chars(entry_dn)).replace(
        USERNAME, escape_filter_chars(username)
    )
    connection.search(
        settings.group_base_dn, query, SUBTREE, attributes=["1.1"], size_limit=MAX_GROUPS
    )
    if connection.result.get("result") not in (0, 32, SIZE_LIMIT_EXCEEDED):
        raise DirectoryUnavailable(f"group search failed: {connection.result.get('description')}")
    return tuple(
        str(item["dn"])
        for item in connection.response or []
        if item.get("type") == "searchResEntry"
    )


def _first(entry: dict[str, object], attribute: str) -> str | None:
    values = entry.get("attributes", {}).get(attribute)  # type: ignore[attr-defined]
    if isinstance(values, list):
        return str(values[0]) if values else None
    return None if values in (None, "", b"") else str(values)


def _entry_id(entry: dict[str, object]) -> str:
    raw: dict[str, list[bytes]] = entry.get("raw_attributes", {})  # type: ignore[assignment]
    for attribute in ("entryUUID", "objectGUID"):
        values = raw.get(attribute) or []
        if values and values[0]:
            value = values[0]
            text = value.decode() if attribute == "entryUUID" else value.hex()
            return f"{attribute}:{text}"[:80]
    return "dn:" + hashlib.sha256(normalize_dn(str(entry["dn"])).encode()).hexdigest()[:64]
