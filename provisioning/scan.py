"""``edgeward devices scan``: what is attached to this gateway, found by asking it.

- Modbus: each unit of a range is asked for one holding register on a TCP
  endpoint or an RTU bus. A unit that answers, even with an exception
  response saying it understood but can't serve that register (illegal
  function, address or value: codes 1-3), is there; one that stays silent,
  or that a TCP server or gateway answers for with "device failure" or
  "gateway target failed to respond", is not.
  Each unit found is then read for every built-in Modbus type
  (:mod:`~edgeward.provisioning.type_fit`), to say which fit.
- Serial ports: pyserial's list of the ports the kernel knows.
- BLE: a bleak scan on the adapter, or a plain statement that there is none;
  each device with the services it advertises and the types they suggest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from serial.tools import list_ports

from edgeward.drivers.ble.errors import BLE_ERRORS
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.requests import connect, read_block
from edgeward.provisioning.type_fit import Fit, ble_suggestions, modbus_fits

PROBE = Block(Table.HOLDING, 0, 1)
# Exception codes only the addressed device itself sends (Modbus Application
# Protocol v1.1b3, §7): it parsed the request, the register is just not served.
UNDERSTOOD = frozenset({0x01, 0x02, 0x03})


@dataclass(frozen=True, slots=True)
class UnitAnswer:
    unit: int
    detail: str
    fits: tuple[Fit, ...] = ()


def _tcp_client(endpoint: str, timeout: float) -> Any:
    host, _, port = endpoint.rpartition(":")
    return AsyncModbusTcpClient(host, port=int(port), timeout=timeout, retries=0, reconnect_delay=0)


def _rtu_client(port: str, baudrate: int, timeout: float) -> Any:
    return AsyncModbusSerialClient(
        port, baudrate=baudrate, timeout=timeout, retries=0, reconnect_delay=0
    )


async def _probe(
    make_client: Any, where: str, units: Iterable[int], wait: float
) -> list[UnitAnswer]:
    """A fresh connection per silent unit: after a timeout pymodbus may drop the link."""
    found: list[UnitAnswer] = []
    client = None
    try:
        for unit in units:
            if client is None:
                client = make_client()
                await connect(client, wait, where, "connection refused")
            try:
                frame = await read_block(client, PROBE, unit, wait, f"{where} unit {unit}")
                detail = f"answers (holding register 0 = {frame.hex()})"
            except DeviceProtocolError as answered:
                if answered.code not in UNDERSTOOD:
                    continue
                detail = f"answers (exception {answered.code:#04x})"
            except DeviceUnavailable:
                client.close()
                client = None
                continue
            fits = await modbus_fits(client, unit, wait, where)
            found.append(UnitAnswer(unit, detail, tuple(fits)))
    finally:
        if client is not None:
            client.close()
    return found


def probe_modbus_tcp(endpoint: str, units: Iterable[int], timeout: float) -> list[UnitAnswer]:
    return asyncio.run(
        _probe(lambda: _tcp_client(endpoint, timeout), f"modbus-tcp://{endpoint}", units, timeout)
    )


def probe_modbus_rtu(
    port: str, baudrate: int, units: Iterable[int], timeout: float
) -> list[UnitAnswer]:
    return asyncio.run(
        _probe(lambda: _rtu_client(port, baudrate, timeout), f"modbus-rtu://{port}", units, timeout)
    )


def serial_ports() -> list[str]:
    return [f"{port.device}: {port.description} ({port.hwid})" for port in list_ports.comports()]


def ble_devices(seconds: float) -> tuple[list[tuple[str, list[str]]], str | None]:
    """(devices seen, each with what its advertised services suggest, None), or
    ([], why there is no scan: no adapter, no BlueZ)."""
    from bleak import BleakScanner

    async def scan() -> list[tuple[str, list[str]]]:
        seen = await BleakScanner.discover(timeout=seconds, return_adv=True)
        return [
            (
                f"{device.address} {device.name or '(no name)'} rssi {adv.rssi}"
                + (f" services {', '.join(adv.service_uuids)}" if adv.service_uuids else ""),
                ble_suggestions(adv.service_uuids),
            )
            for device, adv in seen.values()
        ]

    try:
        return asyncio.run(scan()), None
    except BLE_ERRORS as exc:
        return [], f"no BLE adapter usable here ({type(exc).__name__}: {exc})"
