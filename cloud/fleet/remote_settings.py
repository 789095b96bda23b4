"""Remote gateway settings at the cloud: the desired overlay per gateway, versioned,
signed for the gateway to pull, and what the gateway reports it runs.

The overlay and its rules are the sync contract (:mod:`edgeward.sync.remote_settings`);
this module stores versions and signs documents. A PUT that changes nothing
keeps the version, so a retried request never makes the gateway restart its
runtime twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from edgeward.cloud.crypto.keys import Signer
from edgeward.cloud.storage.schema import gateway_settings
from edgeward.sync.clock import format_us
from edgeward.sync.remote_settings import SettingsReport, encode_settings, validate_overlay


@dataclass(frozen=True, slots=True)
class SignedSettings:
    body: bytes  # canonical JSON: exactly what the signature covers
    signature: str  # base64 Ed25519
    etag: str


def _row(connection: sa.Connection, gateway_id: str, *, lock: bool = False) -> Any:
    statement = sa.select(gateway_settings).where(gateway_settings.c.gateway_id == gateway_id)
    # FOR UPDATE: two operators saving at once get versions N+1 and N+2, never N+1 twice.
    return connection.execute(statement.with_for_update() if lock else statement).first()


def describe(connection: sa.Connection, gateway_id: str) -> dict[str, Any]:
    """Desired (version, settings) next to what the gateway last reported."""
    row = _row(connection, gateway_id)
    if row is None:
        return {
            "gateway_id": gateway_id,
            "version": 0,
            "settings": {},
            "updated": None,
            "applied_version": None,
            "refused_version": None,
            "refused_error": None,
            "reported": None,
        }
    return {
        "gateway_id": gateway_id,
        "version": row.version,
        "settings": row.settings,
        "updated": format_us(row.updated_us),
        "applied_version": row.applied_version,
        "refused_version": row.refused_version,
        "refused_error": row.refused_error,
        "reported": format_us(row.reported_us),
    }


def put_settings(
    connection: sa.Connection,
    account_id: str,
    gateway_id: str,
    overlay: object,
    actor: str,
    now: int,
) -> tuple[int, bool]:
    """Store ``overlay`` (validated whole) as the gateway's settings; return
    (version, changed). Raises :class:`~edgeward.sync.remote_settings.SettingsError`."""
    checked = validate_overlay(overlay)
    row = _row(connection, gateway_id, lock=True)
    if row is None:
        if not checked:
            return 0, False
        connection.execute(
            gateway_settings.insert().values(
                gateway_id=gateway_id,
                account_id=account_id,
                version=1,
                settings=checked,
                updated_us=now,
                updated_by=actor,
            )
        )
        return 1, True
    if row.settings == checked:
        return row.version, False
    # The version counter moves only here, inside the transaction holding the row.
    connection.execute(
        gateway_settings.update()
        .where(gateway_settings.c.gateway_id == gateway_id)
        .values(version=row.version + 1, settings=checked, updated_us=now, updated_by=actor)
    )
    return row.version + 1, True


def signed_settings(connection: sa.Connection, signer: Signer, gateway_id: str) -> SignedSettings:
    row = _row(connection, gateway_id)
    version, overlay = (0, {}) if row is None else (row.version, row.settings)
    body = encode_settings(gateway_id, version, overlay)
    # The version alone would do, but a hash also changes if the key or format does.
    etag = f'"{version}-' + hashlib.sha256(body).hexdigest()[:16] + '"'
    return SignedSettings(body, signer.sign_b64(body), etag)


def record_report(
    connection: sa.Connection, account_id: str, report: SettingsReport, now: int
) -> bool:
    """Keep what the gateway says it runs; True if that differs from what it said before."""
    row = _row(connection, report.gateway_id, lock=True)
    values = {
        "applied_version": report.applied_version,
        "refused_version": report.refused_version,
        "refused_error": report.error or None,
        "reported_us": now,
    }
    if row is None:
        connection.execute(
            gateway_settings.insert().values(
                gateway_id=report.gateway_id,
                account_id=account_id,
                version=0,
                settings={},
                updated_us=now,
                **values,
            )
        )
        return True
    changed = (row.applied_version, row.refused_version, row.refused_error) != (
        report.applied_version,
        report.refused_version,
        report.error or None,
    )
    connection.execute(
        gateway_settings.update()
        .where(gateway_settings.c.gateway_id == report.gateway_id)
        .values(**values)
    )
    return changed
