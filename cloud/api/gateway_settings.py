"""Remote gateway settings: operators PUT an overlay, gateways pull it signed and
report what they run (see edgeward.sync.remote_settings and docs/operators/remote-settings.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from edgeward.cloud.api.authz import requires
from edgeward.cloud.api.common import record, transaction
from edgeward.cloud.api.models import RequestBody
from edgeward.cloud.errors import Forbidden, InvalidBatch, InvalidRequest, PayloadTooLarge
from edgeward.cloud.fleet import gateways, remote_settings
from edgeward.cloud.identity.principal import Principal
from edgeward.sync.clock import now_us
from edgeward.sync.errors import BatchFormatError
from edgeward.sync.registry import SIGNATURE_HEADER
from edgeward.sync.remote_settings import REPORT_PATH, SETTINGS_PATH, SettingsError, decode_report

router = APIRouter(tags=["gateways"])
Operator = Annotated[Principal, requires("gateways")]
# A report is a few hundred bytes; anything near this is not one.
MAX_REPORT_BYTES = 16 * 1024


class SettingsBody(RequestBody):
    settings: dict[str, Any]


@router.get(
    "/v1/gateways/{gateway_id}/settings",
    summary="A gateway's remote settings: desired version next to the one it runs",
)
def get_settings(request: Request, gateway_id: str, principal: Operator) -> Any:
    with transaction(request) as connection:
        gateways.get_gateway(connection, principal.account_id, gateway_id)  # 404 if not ours
        return remote_settings.describe(connection, gateway_id)


@router.put(
    "/v1/gateways/{gateway_id}/settings",
    summary="Replace a gateway's remote settings overlay; a change makes a new version",
)
def put_settings(request: Request, gateway_id: str, body: SettingsBody, principal: Operator) -> Any:
    with transaction(request) as connection:
        gateways.get_gateway(connection, principal.account_id, gateway_id)
        try:
            version, changed = remote_settings.put_settings(
                connection,
                principal.account_id,
                gateway_id,
                body.settings,
                principal.reference,
                now_us(),
            )
        except SettingsError as exc:
            field = f"settings.{exc.path}" if exc.path != "settings" else "settings"
            raise InvalidRequest(exc.message, field=field) from exc
        if changed:
            record(
                connection,
                request,
                principal,
                "gateway.settings_changed",
                gateway_id,
                version=version,
                keys=sorted(f"{s}.{k}" for s, keys in body.settings.items() for k in keys),
            )
        return remote_settings.describe(connection, gateway_id)


@router.get(SETTINGS_PATH, summary="The calling gateway's remote settings, signed")
def get_own_settings(
    request: Request, principal: Annotated[Principal, requires("registry")]
) -> Any:
    if principal.kind != "gateway":
        raise Forbidden("only a gateway pulls its settings")
    with transaction(request) as connection:
        signer = request.app.state.signer
        signed = remote_settings.signed_settings(connection, signer, principal.id)
    if request.headers.get("If-None-Match") == signed.etag:
        return Response(status_code=304, headers={"ETag": signed.etag})
    return Response(
        signed.body,
        media_type="application/json",
        headers={
            "ETag": signed.etag,
            SIGNATURE_HEADER: f"ed25519={signed.signature}",
            "Cache-Control": "no-store",
        },
    )


@router.post(REPORT_PATH, summary="A gateway reports the settings version it runs")
async def report_settings(
    request: Request, principal: Annotated[Principal, requires("ingest")]
) -> Any:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a settings report is at most {MAX_REPORT_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a settings report is at most {MAX_REPORT_BYTES} bytes")
    try:
        report = decode_report(body)
    except BatchFormatError as exc:
        raise InvalidBatch(exc.message, field=exc.path or None) from exc
    if principal.kind != "gateway" or report.gateway_id != principal.id:
        raise Forbidden("a gateway may only report its own settings", field="gateway_id")

    def store() -> None:
        with transaction(request) as connection:
            if remote_settings.record_report(connection, principal.account_id, report, now_us()):
                record(
                    connection,
                    request,
                    principal,
                    "gateway.settings_reported",
                    principal.id,
                    applied_version=report.applied_version,
                    refused_version=report.refused_version,
                    error=report.error,
                )

    await run_in_threadpool(store)
    return {"applied_version": report.applied_version}
