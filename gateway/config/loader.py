"""gateway.toml: read, validated whole, before anything starts.

Every mistake raises :class:`ConfigError` naming the file, the key (as a
path such as ``modbus_tcp[0].devices[1].unit``) and what was expected; the
CLI prints it and exits with status 2. Unknown keys are errors too, because
a misspelt ``pol_interval`` silently ignored is a field visit wasted.

Relative paths are resolved against the config file's directory.

Remote settings from the cloud (:mod:`edgeward.sync.remote_settings`) are an
overlay merged over the file's tables before this same parser runs, so a
bad remote value is refused with the same precise error, naming the file
and the settings version it came with.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeward.gateway.config.ble import BleConfig, parse_ble
from edgeward.gateway.config.modbus import (
    ModbusDeviceConfig,
    ModbusRtuConfig,
    ModbusTcpConfig,
    parse_modbus_rtu,
    parse_modbus_tcp,
)
from edgeward.gateway.config.mqtt import MqttConfig, parse_mqtt
from edgeward.gateway.config.pipeline import (
    AdmissionConfig,
    HealthConfig,
    LogConfig,
    OutboxConfig,
    RemoteConfig,
    UplinkConfig,
    parse_admission,
    parse_health,
    parse_log,
    parse_outbox,
    parse_remote,
    parse_uplink,
)
from edgeward.gateway.config.section import Section
from edgeward.gateway.config.serial import SerialConfig, parse_serial
from edgeward.gateway.errors import ConfigError

__all__ = [
    "AdmissionConfig",
    "BleConfig",
    "CloudConfig",
    "GatewayConfig",
    "HealthConfig",
    "LogConfig",
    "ModbusDeviceConfig",
    "ModbusRtuConfig",
    "ModbusTcpConfig",
    "MqttConfig",
    "OutboxConfig",
    "RemoteConfig",
    "SerialConfig",
    "UplinkConfig",
    "load_config",
]


@dataclass(frozen=True, slots=True)
class CloudConfig:
    url: str
    credential: str = field(repr=False)  # a secret: never in a repr or a log line
    # The cloud's Ed25519 public key (base64), to verify the settings it signs;
    # without it the gateway runs on gateway.toml alone.
    public_key: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    path: Path
    gateway_id: str
    data_dir: Path
    cloud: CloudConfig
    uplink: UplinkConfig
    outbox: OutboxConfig
    health: HealthConfig
    modbus_tcp: tuple[ModbusTcpConfig, ...]
    modbus_rtu: tuple[ModbusRtuConfig, ...] = ()
    serial: tuple[SerialConfig, ...] = ()
    mqtt: tuple[MqttConfig, ...] = ()
    ble: BleConfig | None = None
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    log: LogConfig = field(default_factory=LogConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)
    # The remote settings version merged in (0: gateway.toml alone).
    settings_version: int = 0

    @property
    def source_count(self) -> int:
        return (
            sum(len(section.devices) for section in self.modbus_tcp)
            + sum(len(section.devices) for section in self.modbus_rtu)
            + len(self.serial)
            + sum(len(section.subscriptions) for section in self.mqtt)
            + (len(self.ble.sources) if self.ble else 0)
        )

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.db"


def load_config(
    path: Path, overlay: Mapping[str, Mapping[str, Any]] | None = None, settings_version: int = 0
) -> GatewayConfig:
    """Parse ``path``, with the cloud's settings ``overlay`` (of ``settings_version``)
    merged over its tables first when given."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(path, "", "an existing file", "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", "a readable UTF-8 file", str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", "valid TOML", str(exc)) from exc
    if not overlay:
        return _parse(path, Section(path, "", document))
    for table, values in overlay.items():
        merged = document.setdefault(table, {})
        if not isinstance(merged, dict):
            raise ConfigError(path, table, "a table", type(merged).__name__)
        merged.update(values)
    # Errors name the file and the remote version: the same parent, so paths resolve alike.
    source = path.with_name(f"{path.name} with cloud settings version {settings_version}")
    config = _parse(source, Section(source, "", document))
    return dataclasses.replace(config, path=path, settings_version=settings_version)


def _parse(path: Path, root: Section) -> GatewayConfig:
    root.allow(
        "gateway",
        "cloud",
        "uplink",
        "outbox",
        "health",
        "admission",
        "modbus_tcp",
        "modbus_rtu",
        "serial",
        "mqtt",
        "ble",
        "log",
        "remote",
    )
    gateway = root.section("gateway")
    gateway.allow("id", "data_dir")
    cloud = root.section("cloud")
    cloud.allow("url", "credential_file", "public_key")
    url = cloud.string("url")
    if not url.startswith(("http://", "https://")):
        raise cloud.error("url", "an http:// or https:// URL", url)
    modbus_tcp = tuple(parse_modbus_tcp(endpoint) for endpoint in root.sections("modbus_tcp"))
    modbus_rtu = tuple(parse_modbus_rtu(bus) for bus in root.sections("modbus_rtu"))
    serial = tuple(parse_serial(port) for port in root.sections("serial"))
    mqtt = tuple(parse_mqtt(broker) for broker in root.sections("mqtt"))
    ble = parse_ble(root.section("ble")) if "ble" in root.data else None
    _check_sources_unique(
        root, _sources(modbus_tcp, modbus_rtu, serial, mqtt) + (ble.sources if ble else [])
    )
    _check_ports_unique(
        root,
        [(f"modbus_rtu[{i}].port", bus.port) for i, bus in enumerate(modbus_rtu)]
        + [(f"serial[{i}].port", port.port) for i, port in enumerate(serial)],
    )
    return GatewayConfig(
        path=path,
        gateway_id=gateway.identifier("id"),
        data_dir=gateway.path("data_dir"),
        cloud=CloudConfig(
            url=url, credential=_read_credential(cloud), public_key=_public_key(cloud)
        ),
        uplink=parse_uplink(root.section("uplink", required=False)),
        outbox=parse_outbox(root.section("outbox", required=False)),
        health=parse_health(root.section("health", required=False)),
        modbus_tcp=modbus_tcp,
        modbus_rtu=modbus_rtu,
        serial=serial,
        mqtt=mqtt,
        ble=ble,
        admission=parse_admission(root.section("admission", required=False)),
        log=parse_log(root.section("log", required=False)),
        remote=parse_remote(root.section("remote", required=False)),
    )


def _check_sources_unique(root: Section, sources: list[tuple[str, str]]) -> None:
    """Each data source is read by one device: ``sources`` is (key, source) pairs."""
    seen: set[str] = set()
    for key, source in sources:
        if source in seen:
            raise root.error(
                key, "a data source configured once on this gateway", f"{source!r} again"
            )
        seen.add(source)


def _sources(
    modbus_tcp: tuple[ModbusTcpConfig, ...],
    modbus_rtu: tuple[ModbusRtuConfig, ...],
    serial: tuple[SerialConfig, ...],
    mqtt: tuple[MqttConfig, ...],
) -> list[tuple[str, str]]:
    """Every configured data source with the key that names it, in file order."""
    found: list[tuple[str, str]] = []
    modbus: list[tuple[str, tuple[ModbusDeviceConfig, ...]]] = [
        *((f"modbus_tcp[{index}]", endpoint.devices) for index, endpoint in enumerate(modbus_tcp)),
        *((f"modbus_rtu[{index}]", bus.devices) for index, bus in enumerate(modbus_rtu)),
    ]
    for where, devices in modbus:
        for number, device in enumerate(devices):
            found.append((f"{where}.devices[{number}].source", device.source))
    found += [(f"serial[{index}].source", port.source) for index, port in enumerate(serial)]
    for index, broker in enumerate(mqtt):
        for number, entry in enumerate(broker.subscriptions):
            key = f"mqtt[{index}].subscriptions[{number}].source"
            found.append((key, entry.source))
    return found


def _check_ports_unique(root: Section, ports: list[tuple[str, str]]) -> None:
    # Two drivers on one serial port would interleave their frames on the wire.
    seen: set[str] = set()
    for key, port in ports:
        if port in seen:
            raise root.error(key, "a serial port used by one section", repr(port))
        seen.add(port)


def _read_credential(cloud: Section) -> str:
    return cloud.secret_file("credential_file", "the gateway credential")


def _public_key(cloud: Section) -> str | None:
    """The cloud's signing key: 32 raw bytes in base64, as GET /v1/registry/public-key gives it."""
    value = cloud.optional_string("public_key")
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise cloud.error("public_key", "an Ed25519 public key in base64 (32 bytes)", repr(value))
    return value
