"""The keychain of the caller's account: values go in, never come out.

Listing and reading show a secret's name, versions, allowed hosts and
substitution positions; only the proxy opens a value, when it substitutes
``[~name]`` into a call to an allowed host.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.keychain import store
from edgeward.sync.clock import now_us

router = APIRouter(tags=["keychain"])
Caller = Annotated[Principal, requires("keychain")]


class NewSecret(RequestBody):
    name: str = Field(min_length=1, max_length=64)
    value: str = Field(min_length=1, max_length=store.MAX_VALUE)
    hosts: list[str] = Field(min_length=1, max_length=store.MAX_HOSTS)
    positions: list[str] = Field(default_factory=lambda: ["headers"], max_length=4)


class NewVersion(RequestBody):
    value: str = Field(min_length=1, max_length=store.MAX_VALUE)


class SecretChange(RequestBody):
    hosts: list[str] | None = Field(default=None, max_length=store.MAX_HOSTS)
    positions: list[str] | None = Field(default=None, max_length=4)
    pinned_version: int | None = Field(default=None, ge=1)


@router.get("/v1/keychain", summary="List the account's keychain secrets (never their values)")
def list_secrets(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": store.list_secrets(connection, principal.account_id)}


@router.post("/v1/keychain", status_code=201, summary="Add a secret; its value is write-only")
def create_secret(request: Request, body: NewSecret, principal: Caller) -> Any:
    with transaction(request) as connection:
        created = store.create_secret(
            connection,
            request.app.state.keyring,
            principal.account_id,
            body.name,
            body.value,
            body.hosts,
            body.positions,
            now_us(),
        )
        record(connection, request, principal, "keychain.created", created["id"], name=body.name)
    return created


@router.get("/v1/keychain/{name}", summary="One secret: versions, hosts, positions")
def get_secret(request: Request, name: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return store.describe(connection, principal.account_id, name)


@router.put(
    "/v1/keychain/{name}",
    summary="Change hosts or positions; pin a version (roll back) or unpin with null",
)
def update_secret(request: Request, name: str, body: SecretChange, principal: Caller) -> Any:
    changes = body.model_dump(include=body.model_fields_set)
    with transaction(request) as connection:
        updated = store.update_secret(connection, principal.account_id, name, changes, now_us())
        record(
            connection,
            request,
            principal,
            "keychain.updated",
            updated["id"],
            name=name,
            changed=sorted(changes),
            pinned_version=updated["pinned_version"],
        )
    return updated


@router.delete("/v1/keychain/{name}", status_code=204, summary="Delete a secret and all versions")
def delete_secret(request: Request, name: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        secret_id = store.describe(connection, principal.account_id, name)["id"]
        store.delete_secret(connection, principal.account_id, name)
        record(connection, request, principal, "keychain.deleted", secret_id, name=name)
    return Response(status_code=204)


@router.get("/v1/keychain/{name}/versions", summary="A secret's versions")
def list_versions(request: Request, name: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": store.list_versions(connection, principal.account_id, name)}


@router.post(
    "/v1/keychain/{name}/versions",
    status_code=201,
    summary="A new value: the next version, current at once unless a version is pinned",
)
def add_version(request: Request, name: str, body: NewVersion, principal: Caller) -> Any:
    with transaction(request) as connection:
        updated = store.add_version(
            connection, request.app.state.keyring, principal.account_id, name, body.value, now_us()
        )
        record(
            connection,
            request,
            principal,
            "keychain.version_added",
            updated["id"],
            name=name,
            version=updated["latest_version"],
        )
    return updated


@router.get("/v1/keychain/{name}/versions/{version}", summary="One version of a secret")
def get_version(request: Request, name: str, version: int, principal: Caller) -> Any:
    with transaction(request) as connection:
        return store.get_version(connection, principal.account_id, name, version)


@router.delete(
    "/v1/keychain/{name}/versions/{version}",
    status_code=204,
    summary="Retire a version: its value is erased and it can never be current again",
)
def retire_version(request: Request, name: str, version: int, principal: Caller) -> Response:
    with transaction(request) as connection:
        store.retire_version(connection, principal.account_id, name, version, now_us())
        secret_id = store.describe(connection, principal.account_id, name)["id"]
        record(
            connection,
            request,
            principal,
            "keychain.version_retired",
            secret_id,
            name=name,
            version=version,
        )
    return Response(status_code=204)
