"""The Modbus RTU driver against a real pymodbus serial server behind a socat pty pair.

Two units share the line (multi-drop); a unit id nobody serves stays silent,
as an absent drop on RS-485 does. The driver issues the blocks it is given
(a type's register plan, tested in tests/sync/source_types/test_modbus_plan.py)
and returns their bytes as on the wire, read here with ``struct`` alone.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from edgeward.drivers.breaker import BreakerPolicy
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.rtu import ModbusRtuDriver, RtuDevice, SerialLine
from edgeward.drivers.simulators.modbus_server import SerialRegisterBankServer
from tests.peers.socat import PtyPair

# A float32 at 0, four registers of text at 10, coil 3, discrete inputs 17 and 18.
MAP = (
    Block(Table.HOLDING, 0, 2),
    Block(Table.HOLDING, 10, 4),
    Block(Table.COIL, 3, 1),
    Block(Table.DISCRETE_INPUT, 17, 2),
)
FRAME = struct.Struct(">f8sBB")


def decode(raw: bytes) -> dict[str, object]:
    """The frame as the driver returns it: registers as big-endian words, each bit
    block packed lowest address first into the least significant bit, padded to bytes."""
    assert len(raw) == FRAME.size == sum(block.size for block in MAP)
    power, serial, coils, inputs = FRAME.unpack(raw)
    assert coils >> 1 == 0 and inputs >> 2 == 0  # the padding bits are clear
    return {
        "power": power,
        "serial": serial.rstrip(b"\0").decode(),
        "relay": bool(coils & 1),
        "alarm": bool(inputs & 1),
        "door": bool(inputs & 2),
    }


DEAD_TIMEOUT = 0.15


@pytest.fixture
def line(tmp_path: Path) -> Iterator[PtyPair]:
    with PtyPair(tmp_path) as pair:
        yield pair


def fill(server: SerialRegisterBankServer, unit: int) -> dict[str, object]:
    server.write_float32(unit, 0, 100.5 * unit)
    server.write_string(unit, 10, f"SN-{unit}", 4)
    server.coils[unit][3] = unit == 1
    server.discrete_inputs[unit][17] = unit == 2
    server.discrete_inputs[unit][18] = True
    return {
        "power": 100.5 * unit,
        "serial": f"SN-{unit}",
        "relay": unit == 1,
        "alarm": unit == 2,
        "door": True,
    }


def run_on_line(
    pair: PtyPair, units: list[int], test: Callable[[SerialRegisterBankServer], Awaitable[None]]
) -> None:
    async def main() -> None:
        server = SerialRegisterBankServer(units, str(pair.peer_end))
        await server.start()
        try:
            await test(server)
        finally:
            await server.stop()

    asyncio.run(main())


def driver_on(pair: PtyPair, *devices: RtuDevice, **options: object) -> ModbusRtuDriver:
    # These tests poll by hand, with no steady healthy traffic to open gaps for
    # units not yet known to answer: don't let those wait the default 5 s for one.
    options.setdefault("slot_wait", 0.01)
    return ModbusRtuDriver(SerialLine(str(pair.device_end)), list(devices), **options)  # type: ignore[arg-type]


def test_two_units_on_one_line_read_exact_values(line: PtyPair) -> None:
    async def test(server: SerialRegisterBankServer) -> None:
        expected = {unit: fill(server, unit) for unit in (1, 2)}
        driver = driver_on(line, RtuDevice("m1", 1, MAP), RtuDevice("m2", 2, MAP))
        try:
            for unit in (1, 2):
                reading = await driver.poll(f"m{unit}")
                assert decode(reading.raw) == expected[unit]
                assert reading.origin == f"modbus-rtu://{line.device_end}/{unit}"
            # Concurrent polls share the line one request at a time and still all succeed.
            readings = await asyncio.gather(*(driver.poll(s) for s in ("m1", "m2") * 5))
            assert [decode(r.raw)["serial"] for r in readings] == ["SN-1", "SN-2"] * 5
        finally:
            await driver.close()

    run_on_line(line, [1, 2], test)


def test_silent_unit_opens_its_breaker_and_then_fails_without_touching_the_line(
    line: PtyPair,
) -> None:
    async def test(server: SerialRegisterBankServer) -> None:
        expected = fill(server, 1)
        driver = driver_on(
            line,
            RtuDevice("m1", 1, MAP),
            RtuDevice("ghost", 9, MAP, timeout=DEAD_TIMEOUT),
            breaker=BreakerPolicy(threshold=2, backoff=30.0),
        )
        try:
            for _ in range(2):
                started = time.monotonic()
                with pytest.raises(DeviceUnavailable):
                    await driver.poll("ghost")
                assert time.monotonic() - started >= DEAD_TIMEOUT * 0.9
            assert driver.breakers["ghost"].is_open
            started = time.monotonic()
            with pytest.raises(DeviceUnavailable, match="circuit open"):
                await driver.poll("ghost")
            assert time.monotonic() - started < DEAD_TIMEOUT / 3
            # The healthy unit on the same port is unaffected.
            assert decode((await driver.poll("m1")).raw) == expected
        finally:
            await driver.close()

    run_on_line(line, [1], test)


def test_exception_response_is_a_protocol_error_and_keeps_the_breaker_closed(
    line: PtyPair,
) -> None:
    beyond = (Block(Table.HOLDING, 1000, 1),)

    async def test(server: SerialRegisterBankServer) -> None:
        expected = fill(server, 1)
        driver = driver_on(
            line,
            RtuDevice("beyond", 1, beyond),
            RtuDevice("m1", 1, MAP),
            breaker=BreakerPolicy(threshold=1),
        )
        try:
            for _ in range(3):
                with pytest.raises(DeviceProtocolError) as caught:
                    await driver.poll("beyond")
                assert caught.value.code == 0x02
            assert not driver.breakers["beyond"].is_open
            assert decode((await driver.poll("m1")).raw) == expected
        finally:
            await driver.close()

    run_on_line(line, [1], test)


def test_missing_port_is_unavailable_and_a_port_that_appears_is_used(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path)

    async def main() -> None:
        driver = driver_on(pair, RtuDevice("m1", 1, MAP), breaker=BreakerPolicy(threshold=99))
        try:
            with pytest.raises(DeviceUnavailable):
                await driver.poll("m1")
            pair.start()
            server = SerialRegisterBankServer([1], str(pair.peer_end))
            expected = fill(server, 1)
            await server.start()
            try:
                assert decode((await driver.poll("m1")).raw) == expected
            finally:
                await server.stop()
        finally:
            await driver.close()
            pair.stop()

    asyncio.run(main())


def test_bad_line_settings_are_config_errors() -> None:
    with pytest.raises(DriverConfigError, match="parity"):
        ModbusRtuDriver(SerialLine("/dev/ttyS0", parity="X"), [RtuDevice("a", 1, MAP)])
    with pytest.raises(DriverConfigError, match="twice"):
        ModbusRtuDriver(SerialLine("/dev/ttyS0"), [RtuDevice("a", 1, MAP), RtuDevice("a", 2, MAP)])
    with pytest.raises(DriverConfigError):
        ModbusRtuDriver(SerialLine("/dev/ttyS0"), [])


def test_pulled_cable_is_unavailable_and_the_bus_recovers_when_plugged_back(
    tmp_path: Path,
) -> None:
    pair = PtyPair(tmp_path).start()

    async def serve() -> SerialRegisterBankServer:
        server = SerialRegisterBankServer([1], str(pair.peer_end))
        fill(server, 1)
        await server.start()
        return server

    async def main() -> None:
        server = await serve()
        driver = driver_on(pair, RtuDevice("m1", 1, MAP, timeout=0.3))
        try:
            assert decode((await driver.poll("m1")).raw)["serial"] == "SN-1"
            pair.stop()  # socat killed: both ptys vanish mid-operation
            await server.stop()
            for _ in range(2):
                with pytest.raises(DeviceUnavailable):
                    await driver.poll("m1")
            pair.start()  # same link names, new ptys
            server = await serve()
            assert decode((await driver.poll("m1")).raw)["serial"] == "SN-1"
        finally:
            await driver.close()
            await server.stop()
            pair.stop()

    asyncio.run(main())
