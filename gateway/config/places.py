"""Where gateway.toml says each source is: the binding the cloud must hold for it.

A bound source is admitted only from where the installer registered it
(its bus and unit, port, BLE address or topic), so the cloud's binding and
gateway.toml's section must say the same thing in the same words. Both
``edgeward gateway check-config`` (which holds the file against the
registry) and ``edgeward devices add`` (which registers what it writes)
read it here, from the parsed config, so they cannot disagree on how a
place is spelt (``modbus-tcp://HOST:PORT`` with the port the parser
defaulted, the BLE address in capitals).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from edgeward.gateway.config.loader import GatewayConfig, ModbusRtuConfig, ModbusTcpConfig


@dataclass(frozen=True, slots=True)
class Binding:
    """Where gateway.toml says a source is: its key, transport and binding values."""

    key: str
    source: str
    transport: str
    binding: dict[str, Any]


def bindings(config: GatewayConfig) -> Iterator[Binding]:
    """Every source gateway.toml reads, with where it binds it, in file order."""
    buses: list[tuple[str, ModbusTcpConfig | ModbusRtuConfig]] = [
        *((f"modbus_tcp[{index}]", bus) for index, bus in enumerate(config.modbus_tcp)),
        *((f"modbus_rtu[{index}]", bus) for index, bus in enumerate(config.modbus_rtu)),
    ]
    for where, bus in buses:
        for number, device in enumerate(bus.devices):
            yield Binding(
                f"{where}.devices[{number}]",
                device.source,
                "modbus",
                {"bus": bus.bus, "unit": device.unit},
            )
    for index, port in enumerate(config.serial):
        yield Binding(f"serial[{index}]", port.source, "serial", {"port": port.port})
    for index, broker in enumerate(config.mqtt):
        for number, subscription in enumerate(broker.subscriptions):
            key = f"mqtt[{index}].subscriptions[{number}]"
            yield Binding(key, subscription.source, "mqtt", {"topic": subscription.topic})
    for index, ble in enumerate(config.ble.devices if config.ble else ()):
        address = {"address": ble.match.address} if ble.match.address else {}
        yield Binding(f"ble.devices[{index}]", ble.source, "ble", address)


def binding_of(config: GatewayConfig, source: str) -> Binding | None:
    """Where ``source`` is bound in ``config``; None if it is not."""
    return next((found for found in bindings(config) if found.source == source), None)
