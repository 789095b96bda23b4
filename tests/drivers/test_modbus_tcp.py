"""The Modbus TCP driver against a real pymodbus server (RegisterBankServer).

The driver issues the blocks it is given (a type's register plan, made in
:mod:`edgeward.sync.source_types.modbus` and tested there) and returns their
bytes as on the wire, so these tests read the frame with ``struct`` alone.
Every test runs its own event loop with ``asyncio.run`` and starts the
server inside it on port 0.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from pymodbus.constants import ExcCodes

from edgeward.drivers.breaker import BreakerPolicy
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver
from edgeward.drivers.simulators.modbus_server import RegisterBankServer

HOST = "127.0.0.1"
# Short, so that a read the stopped server never answers fails fast.
TIMEOUT = 1.0

# Registers 0-13 in one request: float32 voltage, uint32 energy, int32 balance,
# uint16 frequency (hundredths), int16 temperature, float64 total and a word pair
# the driver must hand over unswapped; then, far enough away to need a second
# request, and from the input table, a uint32 step.
METER = (Block(Table.HOLDING, 0, 14), Block(Table.INPUT, 40, 2))
FRAME = struct.Struct(">fIiHhdHHI")


def decode(raw: bytes) -> dict[str, float]:
    """The meter's frame as the driver returns it: the blocks' words, big-endian, in order."""
    assert len(raw) == FRAME.size == sum(block.size for block in METER)
    voltage, energy, balance, frequency, temperature, total, high, low, step = FRAME.unpack(raw)
    return {
        "voltage": voltage,
        "energy": energy,
        "balance": balance,
        "frequency": frequency / 100,
        "temperature": temperature,
        "total": total,
        "pair": (high << 16) | low,
        "step": step,
    }


def words(packed: bytes) -> list[int]:
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]


def fill_meter(server: RegisterBankServer, unit: int) -> dict[str, float]:
    server.write_float32(unit, 0, 231.25)
    server.write_uint32(unit, 2, 4_000_000_123)
    server.write_int32(unit, 4, -123_456)
    server.write(unit, 6, [4998])
    server.write(unit, 7, [-40 & 0xFFFF])
    server.write(unit, 8, words(struct.pack(">d", -1234.5678901234)))
    server.write(unit, 12, [0x0002, 0x0001])
    server.write_uint32(unit, 40, 70_000 + unit)
    return {
        "voltage": 231.25,
        "energy": 4_000_000_123,
        "balance": -123_456,
        "frequency": 49.98,
        "temperature": -40,
        "total": -1234.5678901234,
        "pair": 0x0002_0001,  # as written: word order is the decoder's business
        "step": 70_000 + unit,
    }


def run_with_server(
    units: list[int], test: Callable[[RegisterBankServer], Awaitable[None]]
) -> None:
    async def main() -> None:
        server = RegisterBankServer(units, host=HOST, port=0)
        await server.start()
        try:
            await test(server)
        finally:
            await server.stop()

    asyncio.run(main())


def driver_for(server: RegisterBankServer, *devices: ModbusDevice) -> ModbusTcpDriver:
    return ModbusTcpDriver(HOST, server.port, list(devices), timeout=TIMEOUT)


def test_poll_reads_exact_values_from_two_units() -> None:
    async def test(server: RegisterBankServer) -> None:
        expected = {unit: fill_meter(server, unit) for unit in (1, 2)}
        driver = driver_for(
            server, ModbusDevice("meter-1", 1, METER), ModbusDevice("meter-2", 2, METER)
        )
        try:
            assert driver.sources == ("meter-1", "meter-2")
            for unit in (1, 2):
                before = datetime.now(UTC)
                reading = await driver.poll(f"meter-{unit}")
                assert reading.source == f"meter-{unit}"
                assert decode(reading.raw) == expected[unit]
                assert reading.time.utcoffset() == timedelta(0)
                assert before <= reading.time <= datetime.now(UTC)
        finally:
            await driver.close()

    run_with_server([1, 2], test)


def test_poll_sees_register_changes_between_polls() -> None:
    async def test(server: RegisterBankServer) -> None:
        driver = driver_for(server, ModbusDevice("meter-1", 1, METER))
        try:
            fill_meter(server, 1)
            assert decode((await driver.poll("meter-1")).raw)["step"] == 70_001
            server.write_uint32(1, 40, 5)
            server.write_float32(1, 0, -0.5)
            values = decode((await driver.poll("meter-1")).raw)
            assert (values["step"], values["voltage"]) == (5, -0.5)
        finally:
            await driver.close()

    run_with_server([1], test)


def test_origin_names_host_port_and_unit() -> None:
    async def test(server: RegisterBankServer) -> None:
        driver = driver_for(
            server, ModbusDevice("meter-a", 7, METER), ModbusDevice("meter-b", 3, METER)
        )
        try:
            first = await driver.poll("meter-a")
            second = await driver.poll("meter-b")
            assert first.origin == f"modbus-tcp://{HOST}:{server.port}/7"
            assert second.origin == f"modbus-tcp://{HOST}:{server.port}/3"
        finally:
            await driver.close()

    run_with_server([7, 3], test)


def test_unknown_unit_is_a_protocol_error_and_the_driver_stays_usable() -> None:
    async def test(server: RegisterBankServer) -> None:
        expected = fill_meter(server, 1)
        driver = driver_for(
            server, ModbusDevice("meter-1", 1, METER), ModbusDevice("ghost", 9, METER)
        )
        try:
            with pytest.raises(DeviceProtocolError) as caught:
                await driver.poll("ghost")
            assert caught.value.code is not None
            assert caught.value.device is not None and "/9" in caught.value.device
            # The next poll, on the same connection, works.
            assert decode((await driver.poll("meter-1")).raw) == expected
            # And the unknown unit keeps failing the same way rather than crashing.
            with pytest.raises(DeviceProtocolError):
                await driver.poll("ghost")
            assert decode((await driver.poll("meter-1")).raw) == expected
        finally:
            await driver.close()

    run_with_server([1], test)


def test_address_beyond_the_device_is_a_protocol_error() -> None:
    beyond = (Block(Table.HOLDING, 1000, 1),)

    async def test(server: RegisterBankServer) -> None:
        expected = fill_meter(server, 1)
        driver = driver_for(
            server, ModbusDevice("beyond", 1, beyond), ModbusDevice("meter-1", 1, METER)
        )
        try:
            with pytest.raises(DeviceProtocolError):
                await driver.poll("beyond")
            assert decode((await driver.poll("meter-1")).raw) == expected
        finally:
            await driver.close()

    run_with_server([1], test)


def test_stopped_server_is_unavailable_and_a_restart_is_picked_up() -> None:
    async def main() -> None:
        server = RegisterBankServer([1], host=HOST, port=0)
        await server.start()
        port = server.port
        fill_meter(server, 1)
        driver = ModbusTcpDriver(HOST, port, [ModbusDevice("meter-1", 1, METER)], timeout=TIMEOUT)
        restarted: RegisterBankServer | None = None
        try:
            assert decode((await driver.poll("meter-1")).raw)["step"] == 70_001

            await server.stop()
            with pytest.raises(DeviceUnavailable):
                await driver.poll("meter-1")
            # Still down: the driver tries again and says so again, without crashing.
            with pytest.raises(DeviceUnavailable):
                await driver.poll("meter-1")

            restarted = RegisterBankServer([1], host=HOST, port=port)
            await restarted.start()
            assert restarted.port == port
            restarted.write_uint32(1, 40, 42)
            # The very next poll reconnects by itself.
            reading = await driver.poll("meter-1")
            assert decode(reading.raw)["step"] == 42
            assert reading.origin == f"modbus-tcp://{HOST}:{port}/1"
        finally:
            await driver.close()
            await server.stop()
            if restarted is not None:
                await restarted.stop()

    asyncio.run(main())


def test_nothing_listening_is_unavailable_on_open_and_poll() -> None:
    async def main() -> None:
        # A port that was just freed: nothing listens there.
        server = RegisterBankServer([1], host=HOST, port=0)
        await server.start()
        port = server.port
        await server.stop()
        driver = ModbusTcpDriver(HOST, port, [ModbusDevice("meter-1", 1, METER)], timeout=TIMEOUT)
        try:
            with pytest.raises(DeviceUnavailable) as caught:
                await driver.open()
            assert caught.value.device == f"modbus-tcp://{HOST}:{port}"
            with pytest.raises(DeviceUnavailable):
                await driver.poll("meter-1")
        finally:
            await driver.close()

    asyncio.run(main())


def test_close_is_idempotent_and_poll_after_close_reconnects() -> None:
    async def test(server: RegisterBankServer) -> None:
        expected = fill_meter(server, 1)
        driver = driver_for(server, ModbusDevice("meter-1", 1, METER))
        await driver.close()  # before ever opening
        await driver.open()
        await driver.open()  # already open: a no-op
        await driver.close()
        await driver.close()
        try:
            assert decode((await driver.poll("meter-1")).raw) == expected
        finally:
            await driver.close()

    run_with_server([1], test)


def test_driver_without_devices_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError):
        ModbusTcpDriver(HOST, 502, [])


def test_same_source_twice_is_a_config_error() -> None:
    with pytest.raises(DriverConfigError, match="twice"):
        ModbusTcpDriver(
            HOST, 502, [ModbusDevice("meter-1", 1, METER), ModbusDevice("meter-1", 2, METER)]
        )


def test_breaker_opens_on_a_dead_endpoint_and_a_probe_after_backoff_recovers() -> None:
    async def main() -> None:
        server = RegisterBankServer([1], host=HOST, port=0)
        await server.start()
        port = server.port
        await server.stop()
        driver = ModbusTcpDriver(
            HOST,
            port,
            [ModbusDevice("meter-1", 1, METER)],
            timeout=TIMEOUT,
            breaker=BreakerPolicy(threshold=2, backoff=0.4),
        )
        restarted = RegisterBankServer([1], host=HOST, port=port)
        try:
            for _ in range(2):
                with pytest.raises(DeviceUnavailable, match="connect"):
                    await driver.poll("meter-1")
            await restarted.start()
            expected = fill_meter(restarted, 1)
            # Open: the device is reported at once, without a connection attempt.
            with pytest.raises(DeviceUnavailable, match="circuit open"):
                await driver.poll("meter-1")
            async with asyncio.timeout(5):
                while not driver.breakers["meter-1"].allow():  # noqa: ASYNC110 - a clock, no event
                    await asyncio.sleep(0.02)
            assert decode((await driver.poll("meter-1")).raw) == expected
            assert not driver.breakers["meter-1"].is_open
        finally:
            await driver.close()
            await restarted.stop()

    asyncio.run(main())


def test_a_server_that_accepts_but_never_answers_times_out_in_time() -> None:
    async def main() -> None:
        async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # takes every request, answers none
            writer.close()

        silent = await asyncio.start_server(swallow, HOST, 0)
        port = silent.sockets[0].getsockname()[1]
        driver = ModbusTcpDriver(HOST, port, [ModbusDevice("meter-1", 1, METER)], timeout=0.3)
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(DeviceUnavailable, match="no answer"):
                await driver.poll("meter-1")
            assert asyncio.get_running_loop().time() - started < 0.3 * 3
        finally:
            await driver.close()
            silent.close()

    asyncio.run(main())


class ClockedServer(RegisterBankServer):
    """Records when each register request arrives, on the event loop's clock."""

    def __init__(self, units: list[int]) -> None:
        super().__init__(units, host=HOST, port=0)
        self.arrivals: list[tuple[int, int, float]] = []  # (unit, address, time)

    async def _serve(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.arrivals.append((unit, address, asyncio.get_running_loop().time()))
        return await super()._serve(
            unit, function_code, start_address, address, count, current_registers, set_values
        )


def test_pause_spaces_a_devices_requests_and_only_that_devices() -> None:
    pause = 0.2
    blocks = (Block(Table.HOLDING, 0, 2), Block(Table.HOLDING, 10, 2), Block(Table.INPUT, 40, 2))

    async def main() -> None:
        server = ClockedServer([1, 2])
        await server.start()
        for unit in (1, 2):
            server.write_uint32(unit, 0, 1000 + unit)
            server.write_uint32(unit, 10, 2000 + unit)
            server.write_uint32(unit, 40, 3000 + unit)
        driver = driver_for(
            server, ModbusDevice("slow", 1, blocks, pause), ModbusDevice("quick", 2, blocks)
        )
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            slow = await driver.poll("slow")
            slow_arrivals = [(a, t) for u, a, t in server.arrivals if u == 1]
            assert [a for a, _ in slow_arrivals] == [0, 10, 40]
            # No pause before the first request, at least ``pause`` between the next ones.
            assert slow_arrivals[0][1] - started < pause
            gaps = [later - earlier for (_, earlier), (_, later) in pairwise(slow_arrivals)]
            assert all(gap >= pause * 0.95 for gap in gaps), gaps
            # The pause changes when the requests go, not what they read.
            assert struct.unpack(">III", slow.raw) == (1001, 2001, 3001)

            started = loop.time()
            quick = await driver.poll("quick")
            assert loop.time() - started < pause
            assert [a for u, a, _ in server.arrivals if u == 2] == [0, 10, 40]
            assert struct.unpack(">III", quick.raw) == (1002, 2002, 3002)
        finally:
            await driver.close()
            await server.stop()

    asyncio.run(main())
