"""Applications: non-human principals of an account, holding explicit grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction, within_own_grants
from edgeward.cloud.api.models import GrantMap, Reply, RequestBody, RequestGrantMap, Time
from edgeward.cloud.identity import accounts
from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.identity.revocation import revoke_owned
from edgeward.sync.clock import now_us

router = APIRouter(tags=["applications"])
Caller = Annotated[Principal, requires("applications")]


class NewApplication(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    grants: RequestGrantMap


class ApplicationUpdate(RequestBody):
    grants: RequestGrantMap | None = None
    disabled: bool | None = None


class Application(Reply):
    id: str
    name: str
    grants: GrantMap
    created: Time
    disabled: Time | None


class ApplicationList(Reply):
    items: list[Application]


@router.get("/v1/applications", summary="List applications", response_model=ApplicationList)
def list_applications(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": accounts.list_applications(connection, principal.account_id)}


@router.post(
    "/v1/applications",
    status_code=201,
    summary="Register an application",
    response_model=Application,
)
def create_application(request: Request, body: NewApplication, principal: Caller) -> Any:
    grants = grant_maps.parse(body.grants)
    within_own_grants(principal, grants, "these grants")
    with transaction(request) as connection:
        application = accounts.create_application(
            connection, principal.account_id, body.name, grants, now_us()
        )
        record(
            connection,
            request,
            principal,
            "application.created",
            application["id"],
            grants=grant_maps.to_json(grants),
        )
        return application


@router.get(
    "/v1/applications/{application_id}", summary="One application", response_model=Application
)
def get_application(request: Request, application_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return accounts.get_application(connection, principal.account_id, application_id)


@router.put(
    "/v1/applications/{application_id}",
    summary="Change grants, or disable",
    response_model=Application,
)
def update_application(
    request: Request, application_id: str, body: ApplicationUpdate, principal: Caller
) -> Any:
    grants = None if body.grants is None else grant_maps.parse(body.grants)
    if grants is not None:
        within_own_grants(principal, grants, "these grants")
    with transaction(request) as connection:
        application = accounts.update_application(
            connection, principal.account_id, application_id, grants, body.disabled, now_us()
        )
        record(
            connection,
            request,
            principal,
            "application.updated",
            application_id,
            **body.model_dump(exclude_none=True),
        )
        return application


@router.delete(
    "/v1/applications/{application_id}",
    status_code=204,
    summary="Disable an application, revoke its tokens",
)
def delete_application(request: Request, application_id: str, principal: Caller) -> Response:
    now = now_us()
    with transaction(request) as connection:
        accounts.update_application(
            connection, principal.account_id, application_id, None, True, now
        )
        revoke_owned(connection, "application", application_id, now)
        record(connection, request, principal, "application.disabled", application_id)
    return Response(status_code=204)
