"""The store-and-forward tables of gateway.toml: ``[outbox]``, ``[uplink]``, ``[health]``,
``[admission]``, ``[log]`` and ``[remote]``.

Kept apart from :mod:`edgeward.gateway.config.loader` (which owns the file, the
cloud and the device sections) so that the store-and-forward settings and
the device settings change without touching each other. The loader there
calls :func:`parse_outbox`, :func:`parse_uplink`, :func:`parse_health`,
:func:`parse_admission`, :func:`parse_log` and :func:`parse_remote` with its
:class:`~edgeward.gateway.config.section.Section`, so every error still names
file, key and expectation.

The cloud may set some keys remotely (:mod:`edgeward.sync.remote_settings`); their
bounds come from that module's :data:`REMOTE_RULES`, so the cloud validates
an overlay by the rules this parser applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeward.gateway.config.section import Section
from edgeward.sync.remote_settings import REMOTE_RULES

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    # "full" survives power loss; "normal" only survives a crashed process.
    synchronous: str = "full"
    # The backlog's bound on disk; a gateway cut off for weeks must not fill its card.
    max_bytes: int = 512 * MIB
    # drop_oldest keeps the newest data flowing; stop_reading keeps the oldest.
    full_policy: str = "drop_oldest"
    key_rotation_days: float = 30.0
    # Raised (remotely or here) to seal new rows under a fresh key, once per value.
    rotate_key_serial: int = 0


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


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    # How often the gateway asks the cloud for its settings (a 304 when unchanged).
    poll_interval: float = 60.0


def _setting(section: Section, table: str, name: str, default: Any) -> Any:
    """Read remotely settable ``table.name`` by its shared rule."""
    rule = REMOTE_RULES[table][name]
    if rule.kind == "integer":
        return section.integer(name, int(rule.low), int(rule.high), default)
    if rule.kind == "number":
        return section.number(name, rule.low, rule.high, default)
    if rule.kind == "choice":
        return section.choice(name, rule.options, default)
    return section.boolean(name, default)


def _settings(section: Section, table: str, defaults: Any) -> dict[str, Any]:
    return {
        name: _setting(section, table, name, getattr(defaults, name))
        for name in REMOTE_RULES[table]
    }


def parse_outbox(section: Section) -> OutboxConfig:
    section.allow(*REMOTE_RULES["outbox"])
    return OutboxConfig(**_settings(section, "outbox", OutboxConfig()))


def parse_uplink(section: Section) -> UplinkConfig:
    section.allow(*REMOTE_RULES["uplink"])
    return UplinkConfig(**_settings(section, "uplink", UplinkConfig()))


def parse_health(section: Section) -> HealthConfig:
    section.allow("status_interval", "metrics_port", "metrics_host")
    defaults = HealthConfig()
    port = section.integer("metrics_port", 0, 65535) if "metrics_port" in section.data else None
    host = section.data.get("metrics_host", defaults.metrics_host)
    if not isinstance(host, str) or not host:
        raise section.error("metrics_host", "a host name or address to listen on", repr(host))
    return HealthConfig(
        status_interval=_setting(section, "health", "status_interval", defaults.status_interval),
        metrics_port=port,
        metrics_host=host,
    )


def parse_admission(section: Section) -> AdmissionConfig:
    """The cloud's signing key is ``[cloud] public_key`` (one key signs every document)."""
    section.allow("registry_interval", "report_interval")
    defaults = AdmissionConfig()
    return AdmissionConfig(
        registry_interval=section.number(
            "registry_interval", 0.1, 86_400, defaults.registry_interval
        ),
        report_interval=section.number("report_interval", 0.05, 3600, defaults.report_interval),
    )


def parse_log(section: Section) -> LogConfig:
    section.allow(*REMOTE_RULES["log"])
    return LogConfig(**_settings(section, "log", LogConfig()))


def parse_remote(section: Section) -> RemoteConfig:
    section.allow(*REMOTE_RULES["remote"])
    return RemoteConfig(**_settings(section, "remote", RemoteConfig()))
