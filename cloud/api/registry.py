"""The data-source registry a gateway pulls: its sources, signed by the cloud.

The body is canonical JSON (``edgeward.sync.registry.encode_registry``) and
the ``Edgeward-Signature`` header carries the cloud's Ed25519 signature over
exactly those bytes; the gateway verifies it with the cloud's public key
before it admits a single reading by it. ``ETag``/``If-None-Match`` make an
unchanged registry a 304.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from edgeward.cloud.api.authz import public, requires
from edgeward.cloud.api.common import transaction
from edgeward.cloud.datasources.signed_registry import signed_registry
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.registry import SIGNATURE_HEADER

router = APIRouter(tags=["registry"])


@router.get("/v1/registry", summary="The calling gateway's data-source registry, signed")
def get_registry(request: Request, principal: Annotated[Principal, requires("registry")]) -> Any:
    state = request.app.state
    with transaction(request) as connection:
        registry = signed_registry(
            connection, state.sealed_box, state.signer, principal.account_id, principal.id
        )
    if request.headers.get("If-None-Match") == registry.etag:
        return Response(status_code=304, headers={"ETag": registry.etag})
    return Response(
        registry.body,
        media_type="application/json",
        headers={
            "ETag": registry.etag,
            SIGNATURE_HEADER: f"ed25519={registry.signature}",
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/registry/public-key",
    dependencies=[public()],
    summary="The cloud's Ed25519 public key, for verifying registries",
)
def get_public_key(request: Request) -> Any:
    return {"algorithm": "ed25519", "public_key": request.app.state.signer.public_key_b64}
