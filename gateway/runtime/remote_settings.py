"""Remote settings on the gateway: pull the cloud's signed overlay, check it, keep the last good.

A document is used only if the cloud's Ed25519 signature holds (RFC 8032,
key from ``[cloud] public_key``, else the key the registry pull pinned), it
names this gateway, its version is not older than the one running, and
gateway.toml merged with it passes the gateway's own config parser.
Anything else is refused: logged, kept as a ``settings_refused`` gateway
event for the uplink to report, reported to the cloud with the error, and
the running settings stay.

The last good document is kept in ``settings.json`` beside the outbox (mode
0600, written whole: temp file, fsync, rename) and re-verified at start, so
a gateway restarted with the cloud down runs what it last accepted. What is
applied (version, the last key rotation, the last refusal) is kept in
``settings-state.json``, which ``edgeward gateway status`` reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeward.drivers.cancellation import raise_if_cancelling
from edgeward.gateway.admission.registry_pull import pinned_key
from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.config.settings_state import STATE_FILE, read_state
from edgeward.gateway.errors import ConfigError, OutboxError
from edgeward.gateway.files import write_atomic
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.gateway.outbox.store import Outbox
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import now_us
from edgeward.sync.errors import CloudRejected, CloudUnavailable, SyncError
from edgeward.sync.remote_settings import (
    SettingsDocument,
    SettingsError,
    SettingsReport,
    verify_settings,
)
from edgeward.sync.signed_documents import Signed, SignedStore

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
REFUSED_EVENT = "settings_refused"


@dataclass(slots=True)
class SettingsState:
    applied_version: int = 0
    # The last ``outbox.rotate_key_serial`` acted on: each value rotates the key once.
    rotated_serial: int = 0
    refused_version: int | None = None
    refused_error: str = ""
    remote: bool = False
    last_pull_us: int | None = None
    last_pull_error: str = ""


def _load_state(data_dir: Path) -> SettingsState:
    saved = read_state(data_dir) or {}
    names = SettingsState.__dataclass_fields__
    try:
        return SettingsState(**{k: v for k, v in saved.items() if k in names})
    except TypeError:
        return SettingsState()


class RemoteSettings:
    """The gateway's settings: gateway.toml, with the last good cloud overlay merged."""

    def __init__(self, path: Path, base: GatewayConfig) -> None:
        self.path = path
        self.base = base
        self.config = base
        self.state = _load_state(base.data_dir)
        self.store: SignedStore[SettingsDocument] | None = None
        self._resolve_store()
        self.etag: str | None = None
        self._unrecorded: list[str] = []
        self._reported: SettingsReport | None = None
        self._failing = False

    def load_last_good(self) -> GatewayConfig:
        """At start, offline too: gateway.toml with the saved overlay, if it still holds."""
        signed = self.store.load() if self.store else None
        if signed is not None:
            try:
                self.config = self._merge(signed.document)
                self.etag = signed.etag
            except (ConfigError, SettingsError) as exc:
                log.error("saved settings %s not applied: %s", self.store_path, exc)
        return self.config

    def _resolve_store(self) -> bool:
        """The cloud's key: ``[cloud] public_key``, else the one the registry pull pinned."""
        if self.store is None:
            key = self.base.cloud.public_key or pinned_key(self.base.data_dir)
            if key:
                self.store = SignedStore(self.store_path, key, verify_settings)
        self.state.remote = self.store is not None
        return self.state.remote

    @property
    def store_path(self) -> Path:
        return self.base.data_dir / SETTINGS_FILE

    def _merge(self, document: SettingsDocument) -> GatewayConfig:
        if document.gateway_id != self.base.gateway_id:
            raise SettingsError("gateway_id", f"for gateway {document.gateway_id!r}, not this one")
        return load_config(self.path, document.overlay, document.settings_version)

    def starting(self, config: GatewayConfig) -> None:
        """The runtime is about to start with ``config``: rotate the key if asked, record it."""
        before = asdict(self.state)
        serial = config.outbox.rotate_key_serial
        if serial > self.state.rotated_serial:
            key = Keyring.load_or_create(config.data_dir / "outbox.keys").rotate()
            log.info("outbox key %d is current: rotation %d asked by settings", key.key_id, serial)
            self.state.rotated_serial = serial
        self.state.applied_version = config.settings_version
        if (self.state.refused_version or 0) <= config.settings_version:
            self.state.refused_version, self.state.refused_error = None, ""
        # Unchanged (the usual start): no write, so a crash-looping box spends no fsync here.
        if asdict(self.state) != before or not (self.base.data_dir / STATE_FILE).exists():
            self._save_state()
        level = config.log.level.upper()
        if logging.getLogger().level > logging.DEBUG:  # `edgeward -v` keeps debug
            logging.getLogger("edgeward").setLevel(level)

    def _save_state(self, *, durable: bool = True) -> None:
        data = json.dumps(asdict(self.state), indent=1).encode()
        write_atomic(self.base.data_dir / STATE_FILE, data, mode=0o600, durable=durable)

    async def run(self, client: CloudClient, outbox: Outbox, changed: asyncio.Event) -> None:
        """Poll until a new version passes every check; then set ``changed`` and return.

        ``client`` is the running runtime's, which the service closes after this returns.
        """
        while True:
            if not self._resolve_store():  # no key yet: the registry pull pins it
                await asyncio.sleep(self.config.remote.poll_interval)
                continue
            await self._record_refusals(outbox)
            await self._report(client)
            if await self.poll(client):
                changed.set()
                return
            raise_if_cancelling()  # gathered after one cancel: a swallowed one would hang
            await asyncio.sleep(self.config.remote.poll_interval)

    async def poll(self, client: CloudClient) -> bool:
        """True when a newer version validated and was saved (``self.config`` holds it)."""
        assert self.store is not None
        try:
            signed = await client.get_settings(self.store, self.etag)
        except (CloudUnavailable, CloudRejected) as exc:
            self._pull_failed(str(exc))
            return False
        except (SyncError, ValueError) as exc:  # a bad signature or a malformed document
            self._pulled()
            self._refuse(None, str(exc))
            return False
        self._pulled()
        return signed is not None and self._consider(signed)

    def _consider(self, signed: Signed[SettingsDocument]) -> bool:
        assert self.store is not None
        document = signed.document
        self.etag = signed.etag  # the same bytes again are a 304, refused or not
        if document.settings_version == self.config.settings_version:
            return False
        try:
            if document.settings_version < self.config.settings_version:
                raise SettingsError(
                    "settings_version",
                    f"older than version {self.config.settings_version}, which is running",
                )
            config = self._merge(document)
        except (ConfigError, SettingsError) as exc:
            self._refuse(document.settings_version, str(exc))
            return False
        self.store.save(signed)
        self.config = config
        log.info(
            "cloud settings version %d accepted: restarting the runtime", document.settings_version
        )
        return True

    def _refuse(self, version: int | None, error: str) -> None:
        if (version, error) == (self.state.refused_version, self.state.refused_error):
            return  # said already
        log.error(
            "cloud settings version %s refused, version %d keeps running: %s",
            "?" if version is None else version,
            self.config.settings_version,
            error,
        )
        self.state.refused_version, self.state.refused_error = version, error
        self._save_state()
        self._unrecorded.append(f"version {version}: {error}" if version is not None else error)

    def _pulled(self) -> None:
        if self._failing:
            log.info("settings pull works again")
        self._failing = False
        self.state.last_pull_us, self.state.last_pull_error = now_us(), ""
        self._save_state(durable=False)

    def _pull_failed(self, error: str) -> None:
        if not self._failing:
            log.warning("settings pull failing (retrying): %s", error)
        self._failing = True
        self.state.last_pull_error = error
        self._save_state(durable=False)

    async def _record_refusals(self, outbox: Outbox) -> None:
        """Hand refusals to the outbox's events, which the uplink reports to the cloud."""
        while self._unrecorded:
            try:
                await outbox.record_event(REFUSED_EVENT, self._unrecorded[0])
            except OutboxError as exc:  # not open yet, or failing: next poll
                log.debug("settings refusal not recorded yet: %s", exc)
                return
            self._unrecorded.pop(0)

    async def _report(self, client: CloudClient) -> None:
        report = SettingsReport(
            self.base.gateway_id,
            self.state.applied_version,
            self.state.refused_version,
            self.state.refused_error,
        )
        if report == self._reported:
            return
        try:
            await client.post_settings_report(report)
        except CloudUnavailable as exc:  # the pull says so already; the next poll retries
            log.debug("settings report not sent yet: %s", exc)
            return
        except CloudRejected as exc:
            log.warning("%s", exc)
            return
        self._reported = report
