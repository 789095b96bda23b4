"""Which built-in types fit what a scan found: Modbus registers read for real from a
pymodbus server, BLE suggestions from advertised service UUIDs."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient

from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.requests import connect
from edgeward.provisioning.type_fit import Fit, ble_suggestions, fit_modbus, reads
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.builtin import MODBUS_POWER_METER
from edgeward.sync.source_types.spec import ModbusType
from tests.peers.modbus import ModbusServerThread


def modbus(*registers: dict[str, object]) -> ModbusType:
    spec = parse_type_spec(
        {"transport": "modbus", "auth_mode": "bound", "decoder": {"registers": list(registers)}}
    )
    assert isinstance(spec, ModbusType)
    return spec


def test_a_type_is_read_by_its_own_plan() -> None:
    meter = parse_type_spec(MODBUS_POWER_METER)
    assert isinstance(meter, ModbusType)
    holding = Table.HOLDING
    assert reads(meter.decoder) == [Block(holding, 0, 9)], "one request, as the gateway polls"
    odd = modbus(
        {"name": "s", "address": 10, "type": "string", "count": 4, "table": "input"},
        {"name": "c", "address": 3, "type": "bool", "table": "coil"},
        {"name": "e", "address": 20, "type": "float64"},
    )
    assert reads(odd.decoder) == [
        Block(holding, 20, 4),
        Block(Table.INPUT, 10, 4),
        Block(Table.COIL, 3, 1),
    ]


def test_a_type_fits_where_its_registers_read_and_not_where_one_is_refused() -> None:
    served = modbus({"name": "a", "address": 0, "type": "uint32"})
    # The simulator serves 256 registers: 300 is refused with "illegal data address".
    refused = modbus(
        {"name": "a", "address": 0, "type": "uint16"},
        {"name": "b", "address": 300, "type": "int16"},
    )

    async def fits(port: int) -> list[Fit]:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        await connect(client, 1.0, "test", "refused")
        try:
            return [
                await fit_modbus(client, 1, 1.0, "test", "served", served),
                await fit_modbus(client, 1, 1.0, "test", "refused", refused),
            ]
        finally:
            client.close()

    with ModbusServerThread([1]) as server:
        found = asyncio.run(fits(server.port))
    assert found == [
        Fit("served", True, "1 register read"),
        Fit("refused", False, "holding 300: exception 0x02"),
    ]


def test_advertised_standard_services_suggest_types_by_uuid() -> None:
    advertised = [
        "0000181a-0000-1000-8000-00805f9b34fb",
        "180F",
        "12345678-1234-5678-1234-567812345678",
    ]
    assert ble_suggestions(advertised) == [
        "fits builtin:ble-environmental-sensor (it advertises its service 181a)",
        "service 180f (Battery): a type naming 2a19 battery level by UUID needs no layout",
        "service 181a (Environmental Sensing): a type naming 2a6e temperature, 2a6f humidity, "
        "2a6d pressure by UUID needs no layout",
    ]
    assert ble_suggestions(["12345678-1234-5678-1234-567812345678", "not-a-uuid"]) == []
