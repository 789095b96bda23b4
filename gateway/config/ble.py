"""The ``[ble]`` section of gateway.toml: the adapter, and ``[[ble.devices]]`` to read.

Each device is one data source: the section says how to find it and how
often to read the characteristics its type reads rather than subscribes
to; which characteristics, and how each value decodes, is the type's::

    [ble]
    adapter = "hci0"          # optional: default, the first powered adapter

    [[ble.devices]]
    address = "C0:FF:EE:00:00:01"     # and/or name, service_uuid: all given must match
    source = "env-1"
    poll_interval = 5.0
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.ble.config import DeviceMatch
from edgeward.drivers.ble.supervisor import Timing
from edgeward.drivers.errors import DriverConfigError
from edgeward.gateway.config.section import Section

# Keys of earlier versions, now in the data-source type (which characteristics, their layout).
MOVED_TO_TYPE = ("characteristics",)


@dataclass(frozen=True, slots=True)
class BleBinding:
    match: DeviceMatch
    source: str
    poll_interval: float


@dataclass(frozen=True, slots=True)
class BleConfig:
    adapter: str | None
    timing: Timing
    devices: tuple[BleBinding, ...]

    @property
    def sources(self) -> list[tuple[str, str]]:
        """(key, source) of every device, in file order."""
        return [(f"ble.devices[{d}].source", dev.source) for d, dev in enumerate(self.devices)]


def parse_ble(ble: Section) -> BleConfig:
    ble.allow("adapter", "scan_timeout", "timeout", "backoff_initial", "backoff_max", "devices")
    defaults = Timing()
    timing = Timing(
        scan_timeout=ble.number("scan_timeout", 0.1, 600, defaults.scan_timeout),
        timeout=ble.number("timeout", 0.1, 600, defaults.timeout),
        backoff_initial=ble.number("backoff_initial", 0.01, 600, defaults.backoff_initial),
        backoff_max=ble.number("backoff_max", 0.01, 3600, defaults.backoff_max),
    )
    devices = tuple(_device(device) for device in ble.sections("devices"))
    if not devices:
        raise ble.error("devices", "at least one [[ble.devices]]", "none")
    seen: dict[object, int] = {}
    for index, device in enumerate(devices):
        # One address is one device whatever name or service an entry adds,
        # as the driver (drivers/ble/driver.py) will hold it.
        same = device.match.address or device.match
        if same in seen:
            raise ble.error(
                f"devices[{index}]",
                f"each device once (ble.devices[{seen[same]}] is "
                f"{devices[seen[same]].match} too; its type lists every characteristic)",
                f"{device.match} again",
            )
        seen[same] = index
    return BleConfig(ble.optional_string("adapter"), timing, devices)


def _device(device: Section) -> BleBinding:
    device.refuse_moved(*MOVED_TO_TYPE)
    device.allow("address", "name", "service_uuid", "source", "poll_interval")
    try:
        match = DeviceMatch(
            address=device.optional_string("address"),
            name=device.optional_string("name"),
            service_uuid=device.optional_string("service_uuid"),
        )
    except DriverConfigError as exc:
        raise device.error("address", "an address, a name or a service_uuid to match", exc) from exc
    return BleBinding(
        match=match,
        source=device.identifier("source"),
        poll_interval=device.number("poll_interval", 0.05, 86_400, 5.0),
    )
