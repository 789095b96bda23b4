"""gateway.toml: read, validated whole, before anything starts.

Every mistake raises :class:`ConfigError` naming the file, the key (as a
path such as ``modbus_tcp[0].devices[1].unit``) and what was expected; the
CLI prints it and exits with status 2. Unknown keys are errors too, because
a misspelt ``pol_interval`` silently ignored is a field visit wasted.

Relative paths are resolved against the config file's directory.
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.drivers.errors import DriverConfigError
from edgeward.drivers.modbus.register_map import (
    Order,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)
from edgeward.gateway.errors import ConfigError
from edgeward.gateway.pipeline_config import (
    HealthConfig,
    OutboxConfig,
    UplinkConfig,
    parse_health,
    parse_outbox,
    parse_uplink,
)
from edgeward.sync.batch import IDENTIFIER_RULE, is_identifier


@dataclass(frozen=True, slots=True)
class CloudConfig:
    url: str
    credential: str


__all__ = [
    "CloudConfig",
    "GatewayConfig",
    "HealthConfig",
    "ModbusDeviceConfig",
    "ModbusTcpConfig",
    "OutboxConfig",
    "UplinkConfig",
    "load_config",
]


@dataclass(frozen=True, slots=True)
class ModbusDeviceConfig:
    source: str
    unit: int
    poll_interval: float
    register_map: RegisterMap


@dataclass(frozen=True, slots=True)
class ModbusTcpConfig:
    host: str
    port: int
    timeout: float
    devices: tuple[ModbusDeviceConfig, ...]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    path: Path
    gateway_id: str
    data_dir: Path
    cloud: CloudConfig
    uplink: UplinkConfig
    outbox: OutboxConfig
    modbus_tcp: tuple[ModbusTcpConfig, ...]
    health: HealthConfig

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.db"


def load_config(path: Path) -> GatewayConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(path, "", "an existing file", "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", "a readable UTF-8 file", str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", "valid TOML", str(exc)) from exc
    return _parse(path, _Section(path, "", document))


def _parse(path: Path, root: _Section) -> GatewayConfig:
    root.allow("gateway", "cloud", "uplink", "outbox", "health", "modbus_tcp")
    gateway = root.section("gateway")
    gateway.allow("id", "data_dir")
    cloud = root.section("cloud")
    cloud.allow("url", "credential_file")
    url = cloud.string("url")
    if not url.startswith(("http://", "https://")):
        raise cloud.error("url", "an http:// or https:// URL", url)
    modbus_tcp = tuple(_modbus_tcp(endpoint) for endpoint in root.sections("modbus_tcp"))
    _check_sources_unique(root, modbus_tcp)
    return GatewayConfig(
        path=path,
        gateway_id=gateway.identifier("id"),
        data_dir=gateway.path("data_dir"),
        cloud=CloudConfig(url=url, credential=_read_credential(cloud)),
        uplink=parse_uplink(root.section("uplink", required=False)),
        outbox=parse_outbox(root.section("outbox", required=False)),
        modbus_tcp=modbus_tcp,
        health=parse_health(root.section("health", required=False)),
    )


def _check_sources_unique(root: _Section, endpoints: tuple[ModbusTcpConfig, ...]) -> None:
    seen: set[str] = set()
    for index, endpoint in enumerate(endpoints):
        for device_index, device in enumerate(endpoint.devices):
            if device.source in seen:
                raise root.error(
                    f"modbus_tcp[{index}].devices[{device_index}].source",
                    "a data source configured once on this gateway",
                    f"{device.source!r} again",
                )
            seen.add(device.source)


def _read_credential(cloud: _Section) -> str:
    credential_path = cloud.path("credential_file")
    try:
        mode = credential_path.stat().st_mode
        credential = credential_path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise cloud.error("credential_file", "a readable file", exc.strerror or str(exc)) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise cloud.error(
            "credential_file",
            "a file only its owner can read (chmod 600)",
            f"mode {stat.S_IMODE(mode):04o}",
        )
    if not credential:
        raise cloud.error("credential_file", "a file holding the gateway credential", "empty file")
    return credential


def _modbus_tcp(endpoint: _Section) -> ModbusTcpConfig:
    endpoint.allow("host", "port", "timeout", "devices")
    devices = tuple(_modbus_device(device) for device in endpoint.sections("devices"))
    if not devices:
        raise endpoint.error("devices", "at least one [[modbus_tcp.devices]]", "none")
    return ModbusTcpConfig(
        host=endpoint.string("host"),
        port=endpoint.integer("port", 1, 65535, 502),
        timeout=endpoint.number("timeout", 0.05, 60, 2.0),
        devices=devices,
    )


def _modbus_device(device: _Section) -> ModbusDeviceConfig:
    device.allow("source", "unit", "poll_interval", "registers")
    fields = []
    for register in device.sections("registers"):
        register.allow(
            "name", "address", "type", "table", "word_order", "byte_order", "scale", "offset"
        )
        fields.append(
            RegisterField(
                name=register.identifier("name"),
                address=register.integer("address", 0, 65535),
                type=ValueType(register.choice("type", tuple(ValueType))),
                table=Table(register.choice("table", tuple(Table), Table.HOLDING)),
                word_order=Order(register.choice("word_order", tuple(Order), Order.BIG)),
                byte_order=Order(register.choice("byte_order", tuple(Order), Order.BIG)),
                scale=register.number("scale", -1e12, 1e12, 1.0),
                offset=register.number("offset", -1e12, 1e12, 0.0),
            )
        )
    try:
        register_map = RegisterMap(fields)
    except DriverConfigError as exc:
        raise device.error("registers", "a register map without clashes", str(exc)) from exc
    return ModbusDeviceConfig(
        source=device.identifier("source"),
        unit=device.integer("unit", 0, 255),
        poll_interval=device.number("poll_interval", 0.01, 86_400, 1.0),
        register_map=register_map,
    )


_MISSING = object()


class _Section:
    """One TOML table and where it sits, so every error can name its key."""

    def __init__(self, file: Path, where: str, data: object) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            raise ConfigError(file, where, "a table", type(data).__name__)
        self.data: dict[str, Any] = data

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, expected: str, found: object) -> ConfigError:
        return ConfigError(self.file, self.key(name), expected, found)

    def allow(self, *names: str) -> None:
        for name in self.data:
            if name not in names:
                raise self.error(name, f"one of the keys {', '.join(names)}", "an unknown key")

    def _get(self, name: str, default: object, expected: str) -> object:
        value = self.data.get(name, default)
        if value is _MISSING:
            raise self.error(name, expected, "nothing (the key is missing)")
        return value

    def section(self, name: str, *, required: bool = True) -> _Section:
        value = self._get(name, _MISSING if required else {}, f"a [{self.key(name)}] table")
        return _Section(self.file, self.key(name), value)

    def sections(self, name: str) -> list[_Section]:
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise self.error(name, f"an array of tables [[{self.key(name)}]]", type(value).__name__)
        return [_Section(self.file, f"{self.key(name)}[{i}]", item) for i, item in enumerate(value)]

    def string(self, name: str) -> str:
        value = self._get(name, _MISSING, "a non-empty string")
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "a non-empty string", repr(value))
        return value

    def identifier(self, name: str) -> str:
        value = self.string(name)
        if not is_identifier(value):
            raise self.error(name, IDENTIFIER_RULE, repr(value))
        return value

    def path(self, name: str) -> Path:
        return (self.file.parent / self.string(name)).resolve()

    def integer(self, name: str, low: int, high: int, default: object = _MISSING) -> int:
        expected = f"an integer from {low} to {high}"
        value = self._get(name, default, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(name, expected, repr(value))
        return value

    def number(self, name: str, low: float, high: float, default: object = _MISSING) -> float:
        expected = f"a number from {low:g} to {high:g}"
        value = self._get(name, default, expected)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise self.error(name, expected, repr(value))
        return float(value)

    def choice(self, name: str, options: tuple[str, ...], default: object = _MISSING) -> str:
        expected = "one of " + ", ".join(repr(str(option)) for option in options)
        value = self._get(name, default, expected)
        if value not in options:
            raise self.error(name, expected, repr(value))
        return str(value)
