"""The ``[ble]`` section of gateway.toml: the adapter, and ``[[ble.devices]]`` to read.

Each characteristic of a device is its own data source, with a binary
layout that decodes its value::

    [ble]
    adapter = "hci0"          # optional: default, the first powered adapter

    [[ble.devices]]
    address = "C0:FF:EE:00:00:01"     # and/or name, service_uuid: all given must match
    service_uuid = "181a"
    characteristics = [
      { source = "env-1-temperature", uuid = "2a6e", mode = "notify",
        fields = [{ name = "temperature", offset = 0, type = "int16", scale = 0.01 }] },
    ]
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.ble.config import BleCharacteristic, BleDevice, DeviceMatch, Mode
from edgeward.drivers.ble.supervisor import Timing
from edgeward.drivers.errors import DriverConfigError
from edgeward.gateway.config.section import Section
from edgeward.sync.frames import BinaryField, BinaryLayoutDecoder, BinaryType


@dataclass(frozen=True, slots=True)
class BleConfig:
    adapter: str | None
    timing: Timing
    devices: tuple[BleDevice, ...]
    decoders: dict[str, BinaryLayoutDecoder]

    @property
    def sources(self) -> list[tuple[str, str]]:
        """(key, source) of every characteristic, in file order."""
        return [
            (f"ble.devices[{d}].characteristics[{c}].source", characteristic.source)
            for d, device in enumerate(self.devices)
            for c, characteristic in enumerate(device.characteristics)
        ]


def parse_ble(ble: Section) -> BleConfig:
    ble.allow("adapter", "scan_timeout", "timeout", "backoff_initial", "backoff_max", "devices")
    defaults = Timing()
    timing = Timing(
        scan_timeout=ble.number("scan_timeout", 0.1, 600, defaults.scan_timeout),
        timeout=ble.number("timeout", 0.1, 600, defaults.timeout),
        backoff_initial=ble.number("backoff_initial", 0.01, 600, defaults.backoff_initial),
        backoff_max=ble.number("backoff_max", 0.01, 3600, defaults.backoff_max),
    )
    decoders: dict[str, BinaryLayoutDecoder] = {}
    devices = tuple(_device(device, decoders) for device in ble.sections("devices"))
    if not devices:
        raise ble.error("devices", "at least one [[ble.devices]]", "none")
    return BleConfig(ble.optional_string("adapter"), timing, devices, decoders)


def _device(device: Section, decoders: dict[str, BinaryLayoutDecoder]) -> BleDevice:
    device.allow("address", "name", "service_uuid", "characteristics")
    try:
        match = DeviceMatch(
            address=device.optional_string("address"),
            name=device.optional_string("name"),
            service_uuid=device.optional_string("service_uuid"),
        )
    except DriverConfigError as exc:
        raise device.error("address", "an address, a name or a service_uuid to match", exc) from exc
    characteristics = []
    for entry in device.sections("characteristics"):
        entry.allow("source", "uuid", "mode", "poll_interval", "length", "fields")
        # Deprecated (see config_fields): the registry's type decodes; checked if present.
        layout = tuple(_field(field) for field in entry.sections("fields"))
        if "fields" in entry.data and not layout:
            raise entry.error("fields", "at least one { name, offset, type } field", "none")
        source = entry.identifier("source")
        try:
            characteristics.append(
                BleCharacteristic(
                    source,
                    entry.string("uuid"),
                    Mode(entry.choice("mode", tuple(Mode), Mode.NOTIFY)),
                    poll_interval=entry.number("poll_interval", 0.05, 86_400, 5.0),
                    length=entry.integer("length", 1, 512, None)
                    if "length" in entry.data
                    else None,
                )
            )
        except DriverConfigError as exc:
            raise entry.error("uuid", "a 16-bit or 128-bit UUID", exc) from exc
        if layout:
            decoders[source] = BinaryLayoutDecoder(layout)
    if not characteristics:
        raise device.error("characteristics", "at least one characteristic", "none")
    return BleDevice(match, tuple(characteristics))


def _field(field: Section) -> BinaryField:
    field.allow("name", "offset", "type", "scale")
    return BinaryField(
        name=field.identifier("name"),
        offset=field.integer("offset", 0, 511),
        type=BinaryType(field.choice("type", tuple(BinaryType))),
        scale=field.number("scale", -1e12, 1e12, 1.0),
    )
