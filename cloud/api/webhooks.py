"""Webhooks of the caller's account: where security events are pushed, and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import Reply, RequestBody, Time, documented_pattern
from edgeward.cloud.identity.principal import Principal
from edgeward.cloud.webhooks import store
from edgeward.cloud.webhooks.signing import HEADER
from edgeward.sync.clock import now_us

router = APIRouter(tags=["webhooks"])
Caller = Annotated[Principal, requires("webhooks")]


class NewWebhook(RequestBody):
    url: str = Field(
        min_length=8,
        max_length=2000,
        json_schema_extra=documented_pattern(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/\S*)?$"),
    )


class Webhook(Reply):
    id: str
    url: str
    enabled: bool
    created: Time


class WebhookList(Reply):
    items: list[Webhook]


class CreatedWebhook(Webhook):
    secret: str = Field(description="hex; shown this once")
    signature: str = Field(description="how deliveries are signed with it")
    note: str


class Delivery(Reply):
    id: int
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    payload: dict[str, Any] = Field(description="the event delivered (security_event)")
    last_status_code: int | None
    last_error: str | None
    created: Time
    delivered: Time | None
    next_attempt: Time | None = Field(description="while pending")


class DeliveryList(Reply):
    items: list[Delivery]


@router.get("/v1/webhooks", summary="List webhooks", response_model=WebhookList)
def list_webhooks(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": store.list_webhooks(connection, principal.account_id)}


@router.post(
    "/v1/webhooks",
    status_code=201,
    summary="Add a webhook; its signing secret is shown once",
    response_model=CreatedWebhook,
)
def create_webhook(request: Request, body: NewWebhook, principal: Caller) -> Any:
    with transaction(request) as connection:
        webhook, secret = store.create_webhook(
            connection, request.app.state.sealed_box, principal.account_id, body.url, now_us()
        )
        record(connection, request, principal, "webhook.created", webhook["id"], url=body.url)
    return {
        **webhook,
        "secret": secret,
        "signature": f"{HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.' + body>",
        "note": "the secret is shown once; the cloud keeps it sealed",
    }


@router.get("/v1/webhooks/{webhook_id}", summary="One webhook", response_model=Webhook)
def get_webhook(request: Request, webhook_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return store.get_webhook(connection, principal.account_id, webhook_id)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Stop a webhook")
def delete_webhook(request: Request, webhook_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        store.delete_webhook(connection, principal.account_id, webhook_id)
        record(connection, request, principal, "webhook.deleted", webhook_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    summary="The webhook's delivery log",
    response_model=DeliveryList,
)
def list_deliveries(request: Request, webhook_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": store.list_deliveries(connection, principal.account_id, webhook_id)}
