"""Claim codes (provisioning grant) and the enrollment a gateway does with one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from edgeward.cloud.api.authz import public, requires
from edgeward.cloud.api.common import client_address, record, transaction
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.enrollment import claims
from edgeward.cloud.enrollment.enrollment import enroll
from edgeward.cloud.enrollment.errors import ClaimRefused
from edgeward.cloud.enrollment.rotation import rotate_keys
from edgeward.cloud.errors import Forbidden
from edgeward.cloud.identity import audit
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.clock import now_us
from edgeward.sync.enrollment import ENROLL_PATH, KEY_ROTATION_PATH

router = APIRouter(tags=["provisioning"])
Caller = Annotated[Principal, requires("provisioning")]


class NewClaim(RequestBody):
    site: str | None = Field(None, max_length=200)
    expires_in: int = Field(claims.DEFAULT_TTL_S, ge=60, le=30 * 86_400, description="seconds")
    gateway_id: str | None = Field(
        None, max_length=32, description="re-provision this existing gateway (new hardware)"
    )


class Enrollment(RequestBody):
    claim_code: str = Field(min_length=1, max_length=40)
    identity_public_key: str = Field(min_length=1, max_length=64, description="Ed25519, base64")
    wireguard_public_key: str = Field(min_length=1, max_length=64, description="base64")
    name: str | None = Field(None, max_length=200)
    signature: str = Field(
        min_length=1,
        max_length=200,
        description="Ed25519 signature by the identity key of "
        "edgeward.sync.enrollment.enrollment_message (normalized claim code, identity key, "
        "WireGuard key), base64: proof of possession, checked before the code is redeemed",
    )


class KeyRotation(RequestBody):
    identity_public_key: str = Field(min_length=1, max_length=64, description="Ed25519, base64")
    wireguard_public_key: str = Field(min_length=1, max_length=64, description="base64")
    signature: str = Field(
        min_length=1, max_length=200, description="by the current identity key, base64"
    )
    new_signature: str = Field(
        min_length=1, max_length=200, description="by the new identity key, base64"
    )


@router.get("/v1/claim-codes", summary="Claim codes of the account (never the codes)")
def list_claims(request: Request, principal: Caller) -> Any:
    with transaction(request) as connection:
        return {"items": claims.list_claims(connection, principal.account_id, now_us())}


@router.post("/v1/claim-codes", status_code=201, summary="A claim code for one gateway, shown once")
def create_claim(request: Request, body: NewClaim, principal: Caller) -> Any:
    with transaction(request) as connection:
        claim, code = claims.create_claim(
            connection,
            request.app.state.settings.pepper,
            principal.account_id,
            body.site,
            body.expires_in,
            principal.reference,
            now_us(),
            body.gateway_id,
        )
        record(
            connection,
            request,
            principal,
            "claim-code.created",
            claim["id"],
            site=body.site,
            for_gateway_id=body.gateway_id,
        )
    return {**claim, "code": code, "note": "the code is shown once and works once"}


@router.get("/v1/claim-codes/{claim_id}", summary="One claim code (never the code)")
def get_claim(request: Request, claim_id: str, principal: Caller) -> Any:
    with transaction(request) as connection:
        return claims.get_claim(connection, principal.account_id, claim_id, now_us())


@router.delete("/v1/claim-codes/{claim_id}", status_code=204, summary="Revoke a claim code")
def revoke_claim(request: Request, claim_id: str, principal: Caller) -> Response:
    with transaction(request) as connection:
        claims.revoke_claim(connection, principal.account_id, claim_id, now_us())
        record(connection, request, principal, "claim-code.revoked", claim_id)
    return Response(status_code=204)


@router.post(
    ENROLL_PATH,
    status_code=201,
    dependencies=[public()],
    summary="A gateway enrolls with a claim code (the code is its credential)",
)
def enroll_gateway(request: Request, body: Enrollment) -> Any:
    state = request.app.state
    address = client_address(request, "refused enrollments")
    try:
        with transaction(request) as connection:
            return enroll(
                connection,
                state.settings.pepper,
                state.sealed_box,
                state.signer,
                state.hub,
                state.wireguard_hub,
                body.model_dump(),
                now_us(),
            )
    except ClaimRefused as refused:
        state.authenticator.limiter.failed(address)
        with transaction(request) as connection:
            audit.record(
                connection,
                "provisioning.claim-refused",
                account_id=refused.account_id,
                target=refused.claim_id,
                client=request.client.host if request.client else None,
                reason=refused.reason,
            )
        raise


@router.post(
    KEY_ROTATION_PATH,
    summary="A gateway rotates its identity and WireGuard keys (signed by old and new key)",
)
def rotate_gateway_keys(
    request: Request, body: KeyRotation, principal: Annotated[Principal, requires("gateway-keys")]
) -> Any:
    if principal.kind != "gateway":
        raise Forbidden("only a gateway rotates its own keys")
    with transaction(request) as connection:
        return rotate_keys(
            connection,
            request.app.state.wireguard_hub,
            principal.account_id,
            principal.id,
            body.model_dump(),
        )
