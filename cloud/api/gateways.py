"""Gateways of the caller's account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import Reply, RequestBody, Time
from edgeward.cloud.fleet import gateways
from edgeward.cloud.fleet.events import list_events
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.clock import now_us

router = APIRouter(tags=["gateways"])
Caller = Annotated[Principal, requires("gateways")]


class NewGateway(RequestBody):
    name: str = Field(min_length=1, max_length=200)


class Gateway(Reply):
    id: str
    name: str
    created: Time
    decommissioned: Time | None
    site: str | None
    tunnel_address: str | None = Field(description="its address inside the WireGuard tunnel")
    last_seen: Time | None
    last_address: str | None


class GatewayList(Reply):
    items: list[Gateway]


class RegisteredGateway(Gateway):
    credential: str = Field(description="shown this once")
    token_id: str


class GatewayEvent(Reply):
    kind: str = Field(description="data_dropped, reading_stopped, ...")
    count: int
    first: Time
    last: Time
    first_seq: int | None
    last_seq: int | None
    detail: str


class GatewayEventList(Reply):
    items: list[GatewayEvent]


@router.get("/v1/gateways", summary="List gateways", response_model=GatewayList)
def list_gateways(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": gateways.list_gateways(connection, principal.account_id)}


@router.post(
    "/v1/gateways",
    status_code=201,
    summary="Register a gateway; its credential is shown once",
    response_model=RegisteredGateway,
)
def create_gateway(request: Request, body: NewGateway, principal: Caller) -> Any:
    with transaction(request) as connection:
        created = gateways.add_gateway(
            connection, request.app.state.settings.pepper, principal.account_id, body.name, now_us()
        )
        record(
            connection, request, principal, "gateway.created", created.id, token=created.token_id
        )
        described = gateways.get_gateway(connection, principal.account_id, created.id)
    return {**described, "credential": created.credential, "token_id": created.token_id}


@router.get("/v1/gateways/{gateway_id}", summary="One gateway", response_model=Gateway)
def get_gateway(request: Request, gateway_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return gateways.get_gateway(connection, principal.account_id, gateway_id)


@router.get(
    "/v1/gateways/{gateway_id}/events",
    summary="What happened to data on the gateway: data dropped, reading stopped, ...",
    response_model=GatewayEventList,
)
def get_gateway_events(request: Request, gateway_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        gateways.get_gateway(connection, principal.account_id, gateway_id)  # 404 if not ours
        return {"items": list_events(connection, gateway_id)}


@router.delete(
    "/v1/gateways/{gateway_id}",
    status_code=204,
    summary="Decommission: revoke the gateway's credential; its readings stay",
)
def delete_gateway(request: Request, gateway_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        wireguard_key = gateways.decommission(
            connection, principal.account_id, gateway_id, now_us()
        )
        # Inside the transaction: if wg fails, the gateway stays in service (and
        # its peer in place) rather than half decommissioned.
        hub = request.app.state.wireguard_hub
        if hub is not None and wireguard_key is not None:
            hub.remove_peer(wireguard_key)
        record(connection, request, principal, "gateway.decommissioned", gateway_id)
    return Response(status_code=204)
