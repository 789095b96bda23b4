"""Data-source types and data sources of the caller's account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field, WithJsonSchema

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import Reply, RequestBody, Time, documented_pattern
from edgeward.cloud.api.openapi import errors
from edgeward.cloud.datasources import sources, types
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.batch import IDENTIFIER_PATTERN
from edgeward.sync.clock import now_us
from edgeward.sync.source_types import type_spec_components, type_spec_schema

# The type language's schema, from the structs that parse it (sync.source_types.spec):
# the OpenAPI document shows spec as a union per transport, and can't drift from it.
SPEC_SCHEMA, SPEC_COMPONENTS = type_spec_components()

router = APIRouter(tags=["data sources"])
TypeCaller = Annotated[Principal, requires("data-source-types")]
SourceCaller = Annotated[Principal, requires("data-sources")]


class NewType(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    spec: Annotated[dict[str, Any], WithJsonSchema(SPEC_SCHEMA)] = Field(
        description="the type: transport, auth_mode, decoder, fields, examples "
        "(GET /v1/data-source-types/schema has its JSON Schema)"
    )


class NewSource(RequestBody):
    name: str = Field(
        min_length=1,
        max_length=128,
        description="what its readings carry as source",
        json_schema_extra=documented_pattern(IDENTIFIER_PATTERN),
    )
    type_id: str = Field(min_length=1, max_length=64)
    gateway_id: str = Field(min_length=1, max_length=32)
    binding: dict[str, str | int] = Field(default_factory=dict)
    public_key: str | None = Field(None, max_length=64, description="ed25519 types: base64")


class SourceUpdate(RequestBody):
    enabled: bool | None = None
    binding: dict[str, str | int] | None = None


class Rotation(RequestBody):
    public_key: str | None = Field(None, max_length=64)


class DataSourceType(Reply):
    """A type: these, and its spec's fields beside them (transport, auth_mode, decoder,
    fields, examples; GET /v1/data-source-types/schema has their JSON Schema)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    builtin: bool
    created: Time | None = Field(description="none for built-in types")


class DataSourceTypeList(Reply):
    items: list[DataSourceType]


class DataSource(Reply):
    id: str
    name: str
    type_id: str
    gateway_id: str
    binding: dict[str, str | int]
    enabled: bool
    has_key: bool = Field(description="the cloud keeps a key of it, sealed")
    public_key: str | None = Field(description="ed25519 types: base64")
    created: Time
    credentials_rotated: Time | None


class DataSourceList(Reply):
    items: list[DataSource]


class DataSourceWithKey(DataSource):
    """Only hmac and sealed types get a generated key, shown this once."""

    key: str | None = Field(None, description="base64; present only when generated now")
    note: str | None = None


def _with_key(source: dict[str, Any], credentials: sources.Credentials) -> dict[str, Any]:
    if credentials.key_b64 is None:
        return source
    return {
        **source,
        "key": credentials.key_b64,
        "note": "the key is shown once; the cloud keeps it sealed",
    }


@router.get(
    "/v1/data-source-types",
    summary="Built-in and account data-source types",
    response_model=DataSourceTypeList,
)
def list_types(request: Request, principal: TypeCaller) -> Any:
    with transaction(request) as connection:
        return {"items": types.list_types(connection, principal.account_id)}


@router.post(
    "/v1/data-source-types",
    status_code=201,
    summary="Define a data-source type",
    response_model=DataSourceType,
)
def create_type(request: Request, body: NewType, principal: TypeCaller) -> Any:
    with transaction(request) as connection:
        created = types.create_type(
            connection, principal.account_id, body.name, body.spec, now_us()
        )
        record(connection, request, principal, "data-source-type.created", created["id"])
        return created


@router.get(
    "/v1/data-source-types/schema",
    summary="The JSON Schema (2020-12) of a data-source type's spec",
    response_model=dict[str, Any],
)
def type_schema(principal: TypeCaller) -> Any:
    return type_spec_schema()


@router.get(
    "/v1/data-source-types/{type_id}", summary="One data-source type", response_model=DataSourceType
)
def get_type(request: Request, type_id: str, principal: TypeCaller) -> Any:
    with transaction(request) as connection:
        return types.get_type(connection, principal.account_id, type_id)


@router.delete(
    "/v1/data-source-types/{type_id}",
    status_code=204,
    summary="Delete a type no source uses",
    # 409: a built-in type, or one a source still uses
    responses=errors(409),
)
def delete_type(request: Request, type_id: str, principal: TypeCaller) -> Response:
    with transaction(request) as connection:
        types.delete_type(connection, principal.account_id, type_id)
        record(connection, request, principal, "data-source-type.deleted", type_id)
    return Response(status_code=204)


@router.get(
    "/v1/data-sources",
    summary="Registered data sources (never their keys)",
    response_model=DataSourceList,
)
def list_sources(
    request: Request,
    principal: SourceCaller,
    gateway_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    with transaction(request) as connection:
        return {"items": sources.list_sources(connection, principal.account_id, gateway_id)}


@router.post(
    "/v1/data-sources",
    status_code=201,
    summary="Register a data source; a generated key is shown once",
    response_model=DataSourceWithKey,
    response_model_exclude_unset=True,
    # 404: its type or gateway is not the account's; 409: the name is taken
    responses=errors(404, 409),
)
def create_source(request: Request, body: NewSource, principal: SourceCaller) -> Any:
    with transaction(request) as connection:
        source, credentials = sources.create_source(
            connection,
            request.app.state.sealed_box,
            principal.account_id,
            body.model_dump(),
            now_us(),
        )
        record(
            connection,
            request,
            principal,
            "data-source.created",
            source["id"],
            name=source["name"],
            type_id=source["type_id"],
        )
    return _with_key(source, credentials)


@router.get("/v1/data-sources/{source_id}", summary="One data source", response_model=DataSource)
def get_source(request: Request, source_id: str, principal: SourceCaller) -> Any:
    with transaction(request) as connection:
        return sources.get_source(connection, principal.account_id, source_id)


@router.put(
    "/v1/data-sources/{source_id}",
    summary="Enable, disable or re-bind a data source",
    response_model=DataSource,
)
def update_source(
    request: Request, source_id: str, body: SourceUpdate, principal: SourceCaller
) -> Any:
    with transaction(request) as connection:
        source = sources.update_source(
            connection, principal.account_id, source_id, body.enabled, body.binding
        )
        record(
            connection,
            request,
            principal,
            "data-source.updated",
            source_id,
            **body.model_dump(exclude_none=True),
        )
        return source


@router.post(
    "/v1/data-sources/{source_id}/rotate-credentials",
    summary="A new key (shown once) or a new public key",
    response_model=DataSourceWithKey,
    response_model_exclude_unset=True,
    # 409: a bound source has no credentials
    responses=errors(409),
)
def rotate_credentials(
    request: Request, source_id: str, body: Rotation, principal: SourceCaller
) -> Any:
    with transaction(request) as connection:
        source, credentials = sources.rotate_credentials(
            connection,
            request.app.state.sealed_box,
            principal.account_id,
            source_id,
            body.public_key,
            now_us(),
        )
        record(connection, request, principal, "data-source.credentials-rotated", source_id)
    return _with_key(source, credentials)


@router.delete("/v1/data-sources/{source_id}", status_code=204, summary="Remove a data source")
def delete_source(request: Request, source_id: str, principal: SourceCaller) -> Response:
    with transaction(request) as connection:
        sources.delete_source(connection, principal.account_id, source_id)
        record(connection, request, principal, "data-source.deleted", source_id)
    return Response(status_code=204)
