"""Vendors an account connects to: OAuth client registrations and the vendor's quirks.

OAuth 1.0a vendors (``protocol: oauth1``, template ``evernote``) carry three
endpoint URLs and the API base instead.

A vendor is a template (built in, or all fields given) plus the account's
client id and secret at that vendor. The template carries what differs
between vendors: authorize and token URLs, the API base URL, the scope
separator (Facebook: ``,``), PKCE (RFC 7636) or not, how the client
authenticates at the token endpoint (``client_secret_basic`` or
``client_secret_post``, RFC 6749 section 2.3.1), extra authorize parameters
(Google: ``access_type=offline``), the token-response field holding the
API's instance URL (Salesforce: ``instance_url``), and Facebook's exchange
of a short-lived token for a long-lived one (``grant_type=fb_exchange_token``).
The client secret is envelope-encrypted like keychain values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from authlib.common.security import is_secure_transport

from edgeward.cloud.errors import Conflict, InvalidRequest
from edgeward.cloud.identity.principal import new_id
from edgeward.cloud.keychain.keyring import Keyring, Sealed
from edgeward.cloud.keychain.rotation import SealedTable
from edgeward.cloud.keychain.store import check_name
from edgeward.cloud.storage.owned import owned_ids, owned_row
from edgeward.cloud.storage.schema import vendors
from edgeward.sync.clock import format_us

CLIENT_AUTH = ("client_secret_basic", "client_secret_post")
TEMPLATES: dict[str, dict[str, Any]] = {
    "salesforce": {
        "authorize_url": "https://login.salesforce.com/services/oauth2/authorize",
        "token_url": "https://login.salesforce.com/services/oauth2/token",
        "api_base_url": None,
        "pkce": True,
        "client_auth": "client_secret_post",
        "instance_url_field": "instance_url",
    },
    "facebook": {
        "authorize_url": "https://www.facebook.com/v19.0/dialog/oauth",
        "token_url": "https://graph.facebook.com/v19.0/oauth/access_token",
        "api_base_url": "https://graph.facebook.com",
        "scope_separator": ",",
        "client_auth": "client_secret_post",
        "long_lived_exchange": True,
    },
    "google": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "api_base_url": "https://www.googleapis.com",
        "pkce": True,
        "client_auth": "client_secret_post",
        "extra_authorize_params": {"access_type": "offline", "prompt": "consent"},
    },
}
# OAuth 1.0a (RFC 5849) vendors: three endpoints and the API base, no quirks.
OAUTH1_TEMPLATES: dict[str, dict[str, Any]] = {
    "evernote": {
        "request_token_url": "https://www.evernote.com/oauth",
        "authorize_url": "https://www.evernote.com/OAuth.action",
        "access_token_url": "https://www.evernote.com/oauth",
        "api_base_url": "https://www.evernote.com",
    },
}
OAUTH1_URLS = ("request_token_url", "authorize_url", "access_token_url")
DEFAULTS: dict[str, Any] = {
    "api_base_url": None,
    "scope_separator": " ",
    "pkce": False,
    "client_auth": "client_secret_basic",
    "extra_authorize_params": {},
    "instance_url_field": None,
    "long_lived_exchange": False,
}


def context(vendor_id: str) -> str:
    return f"vendor:{vendor_id}"


# Client secrets, for the master-key rotation.
SEALED = SealedTable(vendors, lambda row: context(row.id))


def protocol_and_settings(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``oauth1`` or ``oauth2``, and the settings: a template's fields overridden by the body's."""
    template = body.get("template")
    known = (*TEMPLATES, *OAUTH1_TEMPLATES)
    if template is not None and template not in known:
        raise InvalidRequest(
            f"unknown template {template!r}; known: {', '.join(known)}", field="template"
        )
    protocol = body.get("protocol") or ("oauth1" if template in OAUTH1_TEMPLATES else "oauth2")
    if protocol not in ("oauth1", "oauth2"):
        raise InvalidRequest("expected oauth1 or oauth2", field="protocol")
    if protocol == "oauth1":
        return protocol, _oauth1_settings(body, template)
    return protocol, settings_from(body)


def _oauth1_settings(body: dict[str, Any], template: str | None) -> dict[str, Any]:
    merged: dict[str, Any] = {"api_base_url": None, **OAUTH1_TEMPLATES.get(template or "", {})}
    merged.update({k: v for k, v in body.items() if k in (*OAUTH1_URLS, "api_base_url")})
    for field in (*OAUTH1_URLS, "api_base_url"):
        if not merged.get(field):
            raise InvalidRequest("expected an https URL (or a template that has one)", field=field)
        check_url(str(merged[field]), field)
        # RFC 5849 section 3.5 leaves the token secret's protection to TLS; authlib
        # refuses plain http except to loopback, and so do we, up front.
        if not is_secure_transport(str(merged[field])):
            raise InvalidRequest("OAuth 1.0a endpoints must be https", field=field)
    return {key: merged[key] for key in (*OAUTH1_URLS, "api_base_url")}


def settings_from(body: dict[str, Any]) -> dict[str, Any]:
    """OAuth 2: the template's fields overridden by the body's; every URL checked."""
    template = body.get("template")
    merged = {**DEFAULTS, **TEMPLATES.get(template or "", {})}
    merged.update({k: v for k, v in body.items() if k in merged or k.endswith("_url")})
    for field in ("authorize_url", "token_url"):
        if not merged.get(field):
            raise InvalidRequest("expected an https URL (or a template that has one)", field=field)
    for field in ("authorize_url", "token_url", "api_base_url"):
        if merged.get(field) is not None:
            check_url(str(merged[field]), field)
    if merged["client_auth"] not in CLIENT_AUTH:
        raise InvalidRequest(f"expected one of {', '.join(CLIENT_AUTH)}", field="client_auth")
    if not isinstance(merged["scope_separator"], str) or len(merged["scope_separator"]) != 1:
        raise InvalidRequest("expected one character", field="scope_separator")
    extra = merged["extra_authorize_params"]
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise InvalidRequest("expected an object of strings", field="extra_authorize_params")
    keys = ("authorize_url", "token_url", *DEFAULTS)
    return {key: merged.get(key) for key in keys}


def check_url(url: str, field: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
        raise InvalidRequest("expected an http(s) URL with a host and no user info", field=field)
    return url


def create_vendor(
    connection: sa.Connection, keyring: Keyring, account_id: str, body: dict[str, Any], now: int
) -> dict[str, Any]:
    name = check_name(str(body.get("name", "")))
    protocol, settings = protocol_and_settings(body)
    taken = connection.execute(
        sa.select(vendors.c.id).where(vendors.c.account_id == account_id, vendors.c.name == name)
    ).first()
    if taken is not None:
        raise Conflict(f"vendor {name!r} exists")
    vendor_id = new_id("vnd")
    sealed = keyring.seal(str(body["client_secret"]).encode(), context(vendor_id))
    connection.execute(
        vendors.insert().values(
            id=vendor_id,
            account_id=account_id,
            name=name,
            protocol=protocol,
            settings=settings,
            client_id=str(body["client_id"]),
            ciphertext=sealed.ciphertext,
            wrapped_key=sealed.wrapped_key,
            master_key_id=sealed.master_key_id,
            created_us=now,
        )
    )
    return get_vendor(connection, account_id, vendor_id)


def get_vendor(connection: sa.Connection, account_id: str, vendor_id: str) -> dict[str, Any]:
    row = owned_row(connection, vendors, account_id, vendor_id, "vendor")
    return {
        "id": row.id,
        "name": row.name,
        "protocol": row.protocol,
        "client_id": row.client_id,
        **row.settings,
        "created": format_us(row.created_us),
    }


def list_vendors(connection: sa.Connection, account_id: str) -> list[dict[str, Any]]:
    return [
        get_vendor(connection, account_id, i) for i in owned_ids(connection, vendors, account_id)
    ]


def client_secret(keyring: Keyring, row: Any) -> str:
    sealed = Sealed(row.ciphertext, row.wrapped_key, row.master_key_id)
    return keyring.open(sealed, context(row.id)).decode()
