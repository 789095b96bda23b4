"""One working example request for every route of the cloud, in a given account.

The matrix and isolation tests walk every route the app has and look it up
here; a route without an example fails them, so a new route cannot skip its
authorization tests.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeward.cloud.api.app import api_routes, create_app
from edgeward.cloud.api.authz import Requirement
from edgeward.cloud.config.settings import CloudSettings
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.storage.schema import gateways
from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.claim_codes import ClaimCodeTypo, normalize
from edgeward.sync.enrollment import (
    KEY_ROTATION_PATH,
    enrollment_message,
    rotation_message,
    sign,
)
from edgeward.sync.events import GatewayEvent, encode_events
from edgeward.sync.remote_settings import SettingsReport, encode_report
from edgeward.sync.security_events import SecurityEvent, encode_security_events
from tests.cloud.conftest import START, batch_body
from tests.cloud.oauth import CALLBACK, authorize_params, issue_oauth1, pkce, register_client
from tests.peers.cloud import Account, CloudServer
from tests.peers.slapd import READERS, Slapd, directory_settings, search_bind
from tests.peers.vendors import SHARED_CLIENT, shared_echo, shared_vendor


@dataclass
class Request:
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    # A form body (application/x-www-form-urlencoded), for the OAuth 2 endpoints.
    form: dict[str, str] | None = None


@dataclass(frozen=True)
class Example:
    """How to call a route: ``build`` makes a fresh target in the account; ``extra``
    lists grants the body needs beyond the route's own (e.g. the role being given)."""

    build: Callable[[CloudServer, Account], Request]
    extra: tuple[str, ...] = ()
    # Who may succeed: "user" tokens, or only a "gateway" principal (ingest, registry).
    principal: str = "user"
    # What a public route answers when it works, if not 2xx (the consent page redirects).
    status: int | None = None


def _owner(cloud: CloudServer, account: Account) -> httpx.Client:
    return cloud.client(account.owner_token)


def _create(cloud: CloudServer, account: Account, path: str, body: dict[str, Any]) -> str:
    with _owner(cloud, account) as client:
        return str(client.post(path, json=body).raise_for_status().json()["id"])


def new_user(cloud: CloudServer, account: Account) -> str:
    email = f"{secrets.token_hex(4)}@example.com"
    return _create(cloud, account, "/v1/users", {"email": email, "role": "member"})


def new_application(cloud: CloudServer, account: Account) -> str:
    return _create(
        cloud, account, "/v1/applications", {"name": "app", "grants": {"readings": ["GET"]}}
    )


def new_token(cloud: CloudServer, account: Account) -> str:
    return _create(cloud, account, "/v1/tokens", {"name": "t", "grants": {"readings": ["GET"]}})


def new_gateway(cloud: CloudServer, account: Account) -> str:
    return _create(cloud, account, "/v1/gateways", {"name": "gw"})


TYPE_SPEC = {
    "transport": "serial",
    "auth_mode": "hmac",
    "decoder": {
        "framing": {"kind": "line"},
        "fields": [{"name": "temperature"}, {"name": "humidity"}],
    },
    "fields": {"temperature": {"unit": "C", "min": -40, "max": 85}},
}


def new_type(cloud: CloudServer, account: Account) -> str:
    return _create(cloud, account, "/v1/data-source-types", {"name": "sensor", "spec": TYPE_SPEC})


def source_body(cloud: CloudServer, account: Account) -> dict[str, Any]:
    return {
        "name": f"src-{secrets.token_hex(4)}",
        "type_id": "builtin:mqtt-json-hmac",
        "gateway_id": new_gateway(cloud, account),
        "binding": {"topic": "sensors/1"},
    }


def new_source(cloud: CloudServer, account: Account) -> str:
    return _create(cloud, account, "/v1/data-sources", source_body(cloud, account))


def new_webhook(cloud: CloudServer, account: Account) -> str:
    return _create(cloud, account, "/v1/webhooks", {"url": "https://support.example/hook"})


def new_claim(cloud: CloudServer, account: Account) -> tuple[str, str]:
    """(claim id, code)."""
    with _owner(cloud, account) as client:
        created = client.post("/v1/claim-codes", json={}).raise_for_status().json()
    return str(created["id"]), str(created["code"])


def signed_enrollment(
    code: str, gateway: GatewayKeys, signer: GatewayKeys | None = None
) -> dict[str, str]:
    """An enrollment as the installer sends it, signed by ``signer`` (default: its own key).

    A code with a typo has no normalized form; it is signed as typed (the cloud refuses
    the code for its typo before it checks the signature)."""
    signed = code
    with contextlib.suppress(ClaimCodeTypo):
        signed = normalize(code)
    message = enrollment_message(signed, gateway.identity_public, gateway.wireguard_public)
    return {
        "claim_code": code,
        "identity_public_key": gateway.identity_public,
        "wireguard_public_key": gateway.wireguard_public,
        "signature": sign((signer or gateway).identity_key, message),
    }


def enrollment(cloud: CloudServer, account: Account) -> dict[str, str]:
    return signed_enrollment(new_claim(cloud, account)[1], GatewayKeys.generate())


_slapd: list[Slapd] = []


def shared_slapd() -> Slapd:
    """One slapd for every directory example of the test run (started on first use)."""
    if not _slapd:
        root = Path(tempfile.mkdtemp(prefix="edgeward-slapd-"))
        server = Slapd(root).start()
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        atexit.register(server.stop)
        _slapd.append(server)
    return _slapd[0]


def directory_body() -> dict[str, Any]:
    """Settings whose mapping gives only ``readings:GET`` (bob is a reader)."""
    reader = [{"group": READERS, "grants": {"readings": ["GET"]}}]
    return directory_settings(shared_slapd(), mapping=reader)


def with_directory(cloud: CloudServer, account: Account, **overrides: Any) -> None:
    with _owner(cloud, account) as client:
        body = {**directory_body(), **overrides}
        client.put("/v1/directory", json=body).raise_for_status()


def directory_sync(cloud: CloudServer, account: Account) -> Request:
    with_directory(cloud, account, bind=search_bind())
    return Request("/v1/directory/sync")


def directory_request(cloud: CloudServer, account: Account) -> Request:
    with_directory(cloud, account)
    return Request("/v1/directory")


def directory_sign_in(cloud: CloudServer, account: Account) -> Request:
    with_directory(cloud, account)
    body = {"account": account.id, "username": "bob", "password": "bob-pass"}
    return Request("/v1/directory/sign-in", json=body)


def new_secret(cloud: CloudServer, account: Account, versions: int = 1) -> str:
    """A keychain secret for the shared echo API, usable in the URL path; its name."""
    name = f"key-{secrets.token_hex(4)}"
    body = {"name": name, "value": "v1", "hosts": ["127.0.0.1"], "positions": ["path"]}
    _create(cloud, account, "/v1/keychain", body)
    with _owner(cloud, account) as client:
        for number in range(2, versions + 1):
            client.post(f"/v1/keychain/{name}/versions", json={"value": f"v{number}"})
    return name


def proxied(cloud: CloudServer, account: Account) -> Request:
    """A call through the proxy to the shared echo API, with a secret of ``account``."""
    return Request(f"/v1/proxy/http/{shared_echo().authority}/echo/[~{new_secret(cloud, account)}]")


def new_vendor(cloud: CloudServer, account: Account) -> str:
    vendor = shared_vendor()
    body = {
        "name": f"v-{secrets.token_hex(4)}",
        "client_id": SHARED_CLIENT[0],
        "client_secret": SHARED_CLIENT[1],
        "authorize_url": f"{vendor.url}/authorize",
        "token_url": f"{vendor.url}/token",
        "api_base_url": vendor.url,
        "pkce": True,
    }
    return _create(cloud, account, "/v1/vendors", body)


def vendor_redirect(cloud: CloudServer, account: Account) -> str:
    """A connection started in ``account`` and approved at the vendor: the callback URL."""
    with _owner(cloud, account) as client:
        body = {"vendor_id": new_vendor(cloud, account), "scopes": ["read"]}
        started = client.post("/v1/connections", json=body).raise_for_status().json()
    return str(httpx.get(started["authorize_url"]).headers["location"])


def callback(cloud: CloudServer, account: Account) -> Request:
    query = vendor_redirect(cloud, account).split("?", 1)[1]
    params = dict(part.split("=", 1) for part in query.split("&"))
    return Request("/v1/connections/callback", params=params)


def new_connection(cloud: CloudServer, account: Account) -> str:
    done = httpx.get(vendor_redirect(cloud, account)).raise_for_status().json()
    return str(done["id"])


def new_oauth_client(cloud: CloudServer, account: Account) -> str:
    return register_client(cloud, account, ["readings:GET"]).id


def new_oauth1(cloud: CloudServer, account: Account) -> str:
    return str(issue_oauth1(cloud, account, "readings:GET")["id"])


def consent(cloud: CloudServer, account: Account) -> Request:
    """An approval on the consent page, the owner's token typed into the form."""
    client = register_client(cloud, account, ["readings:GET"])
    _, challenge = pkce()
    return Request(
        "/oauth2/authorize",
        params=authorize_params(client, "readings:GET", challenge),
        form={"decision": "approve", "credential": account.owner_token},
    )


def client_credentials(cloud: CloudServer, account: Account, path: str) -> Request:
    """A confidential client authenticating in the form body (client_secret_post)."""
    client = register_client(cloud, account, ["readings:GET"])
    assert client.secret is not None
    form = {"client_id": client.id, "client_secret": client.secret}
    if path == "/oauth2/token":
        form["grant_type"] = "client_credentials"
    else:
        form["token"] = "ewt_not-a-token-at-all"
    return Request(path, form=form)


def _email() -> str:
    return f"{secrets.token_hex(4)}@example.com"


# What a member holds: creating or changing one needs covering it.
MEMBER_GRANTS = tuple(
    f"{api}:{','.join(sorted(verbs))}" for api, verbs in grant_maps.ROLE_GRANTS["member"].items()
)

EXAMPLES: dict[tuple[str, str], Example] = {
    ("GET", "/healthz"): Example(lambda c, a: Request("/healthz")),
    ("GET", "/v1/account"): Example(lambda c, a: Request("/v1/account")),
    ("PUT", "/v1/account/policy"): Example(lambda c, a: Request("/v1/account/policy", json={})),
    ("GET", "/v1/users"): Example(lambda c, a: Request("/v1/users")),
    ("POST", "/v1/users"): Example(
        lambda c, a: Request("/v1/users", json={"email": _email(), "role": "member"}),
        extra=MEMBER_GRANTS,
    ),
    ("GET", "/v1/users/{user_id}"): Example(lambda c, a: Request(f"/v1/users/{new_user(c, a)}")),
    ("PUT", "/v1/users/{user_id}"): Example(
        lambda c, a: Request(f"/v1/users/{new_user(c, a)}", json={"disabled": False}),
        extra=MEMBER_GRANTS,  # changing a member needs covering what a member holds
    ),
    ("DELETE", "/v1/users/{user_id}"): Example(
        lambda c, a: Request(f"/v1/users/{new_user(c, a)}"), extra=MEMBER_GRANTS
    ),
    ("GET", "/v1/applications"): Example(lambda c, a: Request("/v1/applications")),
    ("POST", "/v1/applications"): Example(
        lambda c, a: Request("/v1/applications", json={"name": "a", "grants": {}})
    ),
    ("GET", "/v1/applications/{application_id}"): Example(
        lambda c, a: Request(f"/v1/applications/{new_application(c, a)}")
    ),
    ("PUT", "/v1/applications/{application_id}"): Example(
        lambda c, a: Request(f"/v1/applications/{new_application(c, a)}", json={"disabled": True})
    ),
    ("DELETE", "/v1/applications/{application_id}"): Example(
        lambda c, a: Request(f"/v1/applications/{new_application(c, a)}")
    ),
    ("GET", "/v1/tokens"): Example(lambda c, a: Request("/v1/tokens")),
    ("POST", "/v1/tokens"): Example(
        lambda c, a: Request("/v1/tokens", json={"name": "t", "grants": {"tokens": ["POST"]}})
    ),
    ("GET", "/v1/tokens/{token_id}"): Example(
        lambda c, a: Request(f"/v1/tokens/{new_token(c, a)}")
    ),
    ("POST", "/v1/tokens/{token_id}/regenerate"): Example(
        lambda c, a: Request(f"/v1/tokens/{new_token(c, a)}/regenerate", json={}),
        extra=("readings:GET",),  # regenerating needs covering the token's grants
    ),
    ("DELETE", "/v1/tokens/{token_id}"): Example(
        lambda c, a: Request(f"/v1/tokens/{new_token(c, a)}")
    ),
    ("GET", "/v1/gateways"): Example(lambda c, a: Request("/v1/gateways")),
    ("POST", "/v1/gateways"): Example(lambda c, a: Request("/v1/gateways", json={"name": "g"})),
    ("GET", "/v1/gateways/{gateway_id}"): Example(
        lambda c, a: Request(f"/v1/gateways/{new_gateway(c, a)}")
    ),
    ("DELETE", "/v1/gateways/{gateway_id}"): Example(
        lambda c, a: Request(f"/v1/gateways/{new_gateway(c, a)}")
    ),
    ("GET", "/v1/gateways/{gateway_id}/events"): Example(
        lambda c, a: Request(f"/v1/gateways/{new_gateway(c, a)}/events")
    ),
    ("GET", "/v1/gateways/{gateway_id}/settings"): Example(
        lambda c, a: Request(f"/v1/gateways/{new_gateway(c, a)}/settings")
    ),
    ("PUT", "/v1/gateways/{gateway_id}/settings"): Example(
        lambda c, a: Request(
            f"/v1/gateways/{new_gateway(c, a)}/settings",
            json={"settings": {"uplink": {"batch_max_readings": 200}}},
        )
    ),
    ("GET", "/v1/registry/settings"): Example(
        lambda c, a: Request("/v1/registry/settings"), principal="gateway"
    ),
    ("POST", "/v1/ingest/settings-report"): Example(
        lambda c, a: Request("/v1/ingest/settings-report"), principal="gateway"
    ),
    ("POST", "/v1/ingest/events"): Example(
        lambda c, a: Request("/v1/ingest/events"), principal="gateway"
    ),
    ("POST", "/v1/ingest/security-events"): Example(
        lambda c, a: Request("/v1/ingest/security-events"), principal="gateway"
    ),
    ("GET", "/v1/readings"): Example(
        lambda c, a: Request("/v1/readings", params={"order": "desc", "limit": 10})
    ),
    ("GET", "/v1/readings/latest"): Example(lambda c, a: Request("/v1/readings/latest")),
    ("GET", "/v1/readings/aggregates"): Example(
        lambda c, a: Request(
            "/v1/readings/aggregates",
            params={
                "since": "2026-11-26T12:00:00Z",
                "until": "2026-11-26T13:00:00Z",
                "bucket": "PT1M",
                "type": "builtin:modbus-power-meter",
                "fields": "power",
            },
        )
    ),
    ("GET", "/v1/audit-events"): Example(lambda c, a: Request("/v1/audit-events")),
    ("GET", "/v1/webhooks"): Example(lambda c, a: Request("/v1/webhooks")),
    ("POST", "/v1/webhooks"): Example(
        lambda c, a: Request("/v1/webhooks", json={"url": "https://support.example/hook"})
    ),
    ("GET", "/v1/webhooks/{webhook_id}"): Example(
        lambda c, a: Request(f"/v1/webhooks/{new_webhook(c, a)}")
    ),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Example(
        lambda c, a: Request(f"/v1/webhooks/{new_webhook(c, a)}")
    ),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Example(
        lambda c, a: Request(f"/v1/webhooks/{new_webhook(c, a)}/deliveries")
    ),
    ("GET", "/v1/claim-codes"): Example(lambda c, a: Request("/v1/claim-codes")),
    ("POST", "/v1/claim-codes"): Example(
        lambda c, a: Request("/v1/claim-codes", json={"site": "plant 4"})
    ),
    ("GET", "/v1/claim-codes/{claim_id}"): Example(
        lambda c, a: Request(f"/v1/claim-codes/{new_claim(c, a)[0]}")
    ),
    ("DELETE", "/v1/claim-codes/{claim_id}"): Example(
        lambda c, a: Request(f"/v1/claim-codes/{new_claim(c, a)[0]}")
    ),
    ("POST", "/v1/enroll"): Example(lambda c, a: Request("/v1/enroll", json=enrollment(c, a))),
    ("GET", "/v1/security-events"): Example(
        lambda c, a: Request("/v1/security-events", params={"reason": "unknown-source"})
    ),
    ("POST", "/v1/ingest/batches"): Example(
        lambda c, a: Request("/v1/ingest/batches"), principal="gateway"
    ),
    ("GET", "/v1/registry"): Example(lambda c, a: Request("/v1/registry"), principal="gateway"),
    ("POST", KEY_ROTATION_PATH): Example(
        lambda c, a: Request(KEY_ROTATION_PATH, json=rotation(c, "gw-none")[1]), principal="gateway"
    ),
    ("GET", "/v1/registry/public-key"): Example(lambda c, a: Request("/v1/registry/public-key")),
    ("GET", "/v1/data-source-types"): Example(lambda c, a: Request("/v1/data-source-types")),
    ("GET", "/v1/data-source-types/schema"): Example(
        lambda c, a: Request("/v1/data-source-types/schema")
    ),
    ("POST", "/v1/data-source-types"): Example(
        lambda c, a: Request("/v1/data-source-types", json={"name": "t", "spec": TYPE_SPEC})
    ),
    ("GET", "/v1/data-source-types/{type_id}"): Example(
        lambda c, a: Request(f"/v1/data-source-types/{new_type(c, a)}")
    ),
    ("DELETE", "/v1/data-source-types/{type_id}"): Example(
        lambda c, a: Request(f"/v1/data-source-types/{new_type(c, a)}")
    ),
    ("GET", "/v1/data-sources"): Example(lambda c, a: Request("/v1/data-sources")),
    ("POST", "/v1/data-sources"): Example(
        lambda c, a: Request("/v1/data-sources", json=source_body(c, a))
    ),
    ("GET", "/v1/data-sources/{source_id}"): Example(
        lambda c, a: Request(f"/v1/data-sources/{new_source(c, a)}")
    ),
    ("PUT", "/v1/data-sources/{source_id}"): Example(
        lambda c, a: Request(f"/v1/data-sources/{new_source(c, a)}", json={"enabled": False})
    ),
    ("DELETE", "/v1/data-sources/{source_id}"): Example(
        lambda c, a: Request(f"/v1/data-sources/{new_source(c, a)}")
    ),
    ("GET", "/v1/directory"): Example(directory_request),
    ("PUT", "/v1/directory"): Example(
        lambda c, a: Request("/v1/directory", json=directory_body()),
        extra=("readings:GET",),  # the mapping hands out readings:GET
    ),
    ("DELETE", "/v1/directory"): Example(directory_request),
    ("POST", "/v1/directory/sign-in"): Example(directory_sign_in),
    ("POST", "/v1/directory/sync"): Example(directory_sync),
    ("POST", "/v1/data-sources/{source_id}/rotate-credentials"): Example(
        lambda c, a: Request(f"/v1/data-sources/{new_source(c, a)}/rotate-credentials", json={})
    ),
    ("GET", "/v1/keychain"): Example(lambda c, a: Request("/v1/keychain")),
    ("POST", "/v1/keychain"): Example(
        lambda c, a: Request(
            "/v1/keychain",
            json={"name": f"k{secrets.token_hex(4)}", "value": "s", "hosts": ["api.example"]},
        )
    ),
    ("GET", "/v1/keychain/{name}"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}")
    ),
    ("PUT", "/v1/keychain/{name}"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}", json={"pinned_version": 1})
    ),
    ("DELETE", "/v1/keychain/{name}"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}")
    ),
    ("GET", "/v1/keychain/{name}/versions"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}/versions")
    ),
    ("POST", "/v1/keychain/{name}/versions"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}/versions", json={"value": "v2"})
    ),
    ("GET", "/v1/keychain/{name}/versions/{version}"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a)}/versions/1")
    ),
    ("DELETE", "/v1/keychain/{name}/versions/{version}"): Example(
        lambda c, a: Request(f"/v1/keychain/{new_secret(c, a, versions=2)}/versions/1")
    ),
    ("GET", "/v1/vendors"): Example(lambda c, a: Request("/v1/vendors")),
    ("POST", "/v1/vendors"): Example(
        lambda c, a: Request(
            "/v1/vendors",
            json={
                "name": f"v{secrets.token_hex(4)}",
                "template": "google",
                "client_id": "c",
                "client_secret": "s",
            },
        )
    ),
    ("GET", "/v1/vendors/{vendor_id}"): Example(
        lambda c, a: Request(f"/v1/vendors/{new_vendor(c, a)}")
    ),
    ("GET", "/v1/connections"): Example(lambda c, a: Request("/v1/connections")),
    ("POST", "/v1/connections"): Example(
        lambda c, a: Request("/v1/connections", json={"vendor_id": new_vendor(c, a)})
    ),
    ("GET", "/v1/connections/callback"): Example(callback),
    ("GET", "/v1/connections/{connection_id}"): Example(
        lambda c, a: Request(f"/v1/connections/{new_connection(c, a)}")
    ),
    ("DELETE", "/v1/connections/{connection_id}"): Example(
        lambda c, a: Request(f"/v1/connections/{new_connection(c, a)}")
    ),
    ("GET", "/v1/proxy/{target:path}"): Example(proxied),
    ("POST", "/v1/proxy/{target:path}"): Example(proxied),
    ("PUT", "/v1/proxy/{target:path}"): Example(proxied),
    ("DELETE", "/v1/proxy/{target:path}"): Example(proxied),
    ("GET", "/v1/oauth-clients"): Example(lambda c, a: Request("/v1/oauth-clients")),
    ("POST", "/v1/oauth-clients"): Example(
        lambda c, a: Request(
            "/v1/oauth-clients",
            json={
                "name": "c",
                "application_id": new_application(c, a),
                "redirect_uris": [CALLBACK],
            },
        ),
        extra=("readings:GET",),  # the client acts with its application's grants
    ),
    ("GET", "/v1/oauth-clients/{client_id}"): Example(
        lambda c, a: Request(f"/v1/oauth-clients/{new_oauth_client(c, a)}")
    ),
    ("DELETE", "/v1/oauth-clients/{client_id}"): Example(
        lambda c, a: Request(f"/v1/oauth-clients/{new_oauth_client(c, a)}")
    ),
    ("GET", "/v1/oauth1-credentials"): Example(lambda c, a: Request("/v1/oauth1-credentials")),
    ("POST", "/v1/oauth1-credentials"): Example(
        lambda c, a: Request(
            "/v1/oauth1-credentials",
            json={
                "application_id": new_application(c, a),
                "name": "signed",
                "grants": {"readings": ["GET"]},
            },
        ),
        extra=("applications:PUT", "readings:GET"),
    ),
    ("GET", "/v1/oauth1-credentials/{credential_id}"): Example(
        lambda c, a: Request(f"/v1/oauth1-credentials/{new_oauth1(c, a)}")
    ),
    ("DELETE", "/v1/oauth1-credentials/{credential_id}"): Example(
        lambda c, a: Request(f"/v1/oauth1-credentials/{new_oauth1(c, a)}")
    ),
    ("GET", "/.well-known/oauth-authorization-server"): Example(
        lambda c, a: Request("/.well-known/oauth-authorization-server")
    ),
    ("GET", "/oauth2/authorize"): Example(
        lambda c, a: Request("/oauth2/authorize", params=consent(c, a).params)
    ),
    ("POST", "/oauth2/authorize"): Example(consent, status=302),
    ("POST", "/oauth2/token"): Example(lambda c, a: client_credentials(c, a, "/oauth2/token")),
    ("POST", "/oauth2/revoke"): Example(lambda c, a: client_credentials(c, a, "/oauth2/revoke")),
    ("POST", "/oauth2/introspect"): Example(
        lambda c, a: client_credentials(c, a, "/oauth2/introspect")
    ),
}


def rotation(cloud: CloudServer, gateway_id: str) -> tuple[Ed25519PrivateKey, dict[str, str]]:
    """A key rotation by ``gateway_id``, whose current identity key is set here in storage."""
    current, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    _, database = cloud._open_storage()
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(gateways)
            .where(gateways.c.id == gateway_id)
            .values(identity_public_key=_public_b64(current))
        )
    identity, wireguard = _public_b64(new), base64.b64encode(secrets.token_bytes(32)).decode()
    message = rotation_message(gateway_id, identity, wireguard)
    body = {
        "identity_public_key": identity,
        "wireguard_public_key": wireguard,
        "signature": sign(current, message),
        "new_signature": sign(new, message),
    }
    return new, body


def _public_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def gateway_request(
    verb: str, path: str, gateway_id: str, cloud: CloudServer | None = None
) -> Request:
    """What a gateway sends on a gateway-only route."""
    if path == KEY_ROTATION_PATH and cloud is not None:
        return Request(path, json=rotation(cloud, gateway_id)[1])
    if path == "/v1/ingest/batches":
        return Request(path, content=batch_body(gateway_id, "meter-1", [1]))
    if path == "/v1/ingest/events":
        event = GatewayEvent(1, "data_dropped", START, START, 5, 1, 5, "quota")
        return Request(path, content=encode_events(gateway_id, [event]))
    if path == "/v1/ingest/security-events":
        refused = SecurityEvent("meter-9", "unknown-source", START, START, START, 5)
        return Request(path, content=encode_security_events(gateway_id, [refused]))
    if path == "/v1/ingest/settings-report":
        return Request(path, content=encode_report(SettingsReport(gateway_id, 0)))
    return Request(path)


def all_routes(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    """(verb, path, API) of every route the app declares; API None for public ones."""
    settings = CloudSettings.load(tmp_path, f"sqlite:///{tmp_path / 'routes.db'}")
    found = []
    for route in api_routes(create_app(settings)):
        requirement = next(
            d.call for d in route.dependant.dependencies if isinstance(d.call, Requirement)
        )
        for verb in sorted(route.methods):
            found.append((verb, route.path, requirement.api))
    return found


def send(client: httpx.Client, verb: str, request: Request) -> httpx.Response:
    if request.form is not None:
        return client.request(verb, request.path, params=request.params, data=request.form)
    return client.request(
        verb,
        request.path,
        json=request.json,
        params=request.params,
        content=request.content,
        headers={"Content-Type": "application/json"} if request.content else None,
    )
