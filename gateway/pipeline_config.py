"""The ``[outbox]``, ``[uplink]``, ``[health]`` and ``[admission]`` sections of gateway.toml.

Kept apart from :mod:`edgeward.gateway.config` (which owns the file, the
cloud and the device sections) so that the store-and-forward settings and
the device settings change without touching each other. The loader there
calls :func:`parse_outbox`, :func:`parse_uplink`, :func:`parse_health` and
:func:`parse_admission`
with its section reader, so every error still names file, key and
expectation.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

from edgeward.gateway.errors import ConfigError

MIB = 1024 * 1024
# The cloud refuses a batch body over 8 MiB (cloud/api/ingest.py MAX_BATCH_BYTES).
CLOUD_MAX_BATCH_BYTES = 8 * MIB


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    # "full" survives power loss; "normal" only survives a crashed process.
    synchronous: str = "full"
    # The backlog's bound on disk; a gateway cut off for weeks must not fill its card.
    max_bytes: int = 512 * MIB
    # drop_oldest keeps the newest data flowing; stop_reading keeps the oldest.
    full_policy: str = "drop_oldest"
    key_rotation_days: float = 30.0


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    batch_max_readings: int = 500
    batch_max_bytes: int = 1 * MIB
    # How long a reading may wait for its batch to fill before it is sent anyway.
    batch_max_age: float = 0.2
    idle_interval: float = 1.0
    timeout: float = 10.0
    backoff_max: float = 60.0
    compress: bool = True


@dataclass(frozen=True, slots=True)
class HealthConfig:
    # How often status.json in the data dir is rewritten for `edgeward gateway status`.
    status_interval: float = 1.0
    # None: no metrics listener; 0: any free port (reported in status.json).
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class AdmissionConfig:
    # How often the registry is pulled; an unchanged one costs a 304.
    registry_interval: float = 60.0
    # How often refusals are aggregated into rows and reported to the cloud.
    report_interval: float = 5.0
    # The cloud's registry-signing key (base64 Ed25519). None: asked at first
    # contact and pinned in the data dir (registry.pub).
    registry_public_key: str | None = None


class SectionReader(Protocol):
    """What :class:`edgeward.gateway.config._Section` offers; typed here to avoid a cycle."""

    data: dict[str, object]

    def allow(self, *names: str) -> None: ...
    def error(self, name: str, expected: str, found: object) -> ConfigError: ...
    def integer(self, name: str, low: int, high: int, default: object = ...) -> int: ...
    def number(self, name: str, low: float, high: float, default: object = ...) -> float: ...
    def choice(self, name: str, options: tuple[str, ...], default: object = ...) -> str: ...


def parse_outbox(section: SectionReader) -> OutboxConfig:
    section.allow("synchronous", "max_bytes", "full_policy", "key_rotation_days")
    defaults = OutboxConfig()
    return OutboxConfig(
        synchronous=section.choice("synchronous", ("full", "normal"), defaults.synchronous),
        max_bytes=section.integer("max_bytes", 1 * MIB, 2**50, defaults.max_bytes),
        full_policy=section.choice(
            "full_policy", ("drop_oldest", "stop_reading"), defaults.full_policy
        ),
        key_rotation_days=section.number("key_rotation_days", 0, 3650, defaults.key_rotation_days),
    )


def parse_uplink(section: SectionReader) -> UplinkConfig:
    section.allow(
        "batch_max_readings",
        "batch_max_bytes",
        "batch_max_age",
        "idle_interval",
        "timeout",
        "backoff_max",
        "compress",
    )
    defaults = UplinkConfig()
    return UplinkConfig(
        batch_max_readings=section.integer(
            "batch_max_readings", 1, 10_000, defaults.batch_max_readings
        ),
        batch_max_bytes=section.integer(
            "batch_max_bytes", 1024, CLOUD_MAX_BATCH_BYTES // 2, defaults.batch_max_bytes
        ),
        batch_max_age=section.number("batch_max_age", 0, 3600, defaults.batch_max_age),
        idle_interval=section.number("idle_interval", 0.01, 3600, defaults.idle_interval),
        timeout=section.number("timeout", 0.1, 600, defaults.timeout),
        backoff_max=section.number("backoff_max", 0.1, 3600, defaults.backoff_max),
        compress=_boolean(section, "compress", defaults.compress),
    )


def parse_health(section: SectionReader) -> HealthConfig:
    section.allow("status_interval", "metrics_port", "metrics_host")
    defaults = HealthConfig()
    port = section.integer("metrics_port", 0, 65535) if "metrics_port" in section.data else None
    host = section.data.get("metrics_host", defaults.metrics_host)
    if not isinstance(host, str) or not host:
        raise section.error("metrics_host", "a host name or address to listen on", repr(host))
    return HealthConfig(
        status_interval=section.number("status_interval", 0.05, 3600, defaults.status_interval),
        metrics_port=port,
        metrics_host=host,
    )


def parse_admission(section: SectionReader) -> AdmissionConfig:
    section.allow("registry_interval", "report_interval", "registry_public_key")
    defaults = AdmissionConfig()
    key = section.data.get("registry_public_key")
    if key is not None and not _is_ed25519_key(key):
        raise section.error(
            "registry_public_key", "the cloud's Ed25519 public key, base64 (44 chars)", repr(key)
        )
    return AdmissionConfig(
        registry_interval=section.number(
            "registry_interval", 0.1, 86_400, defaults.registry_interval
        ),
        report_interval=section.number("report_interval", 0.05, 3600, defaults.report_interval),
        registry_public_key=key if isinstance(key, str) else None,
    )


def _is_ed25519_key(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _boolean(section: SectionReader, name: str, default: bool) -> bool:
    value = section.data.get(name, default)
    if not isinstance(value, bool):
        raise section.error(name, "true or false", repr(value))
    return value
