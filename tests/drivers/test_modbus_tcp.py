"""The Modbus TCP driver against a real pymodbus server (RegisterBankServer).

Every test runs its own event loop with ``asyncio.run`` and starts the
server inside it on port 0.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from edgeward.drivers.breaker import BreakerPolicy
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverConfigError
from edgeward.drivers.modbus.register_map import (
    Order,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver
from edgeward.drivers.simulators.modbus_server import RegisterBankServer

HOST = "127.0.0.1"
# Short, so that a read the stopped server never answers fails fast.
TIMEOUT = 1.0

METER = RegisterMap(
    [
        RegisterField("voltage", 0, ValueType.FLOAT32),
        RegisterField("energy", 2, ValueType.UINT32),
        RegisterField("balance", 4, ValueType.INT32),
        RegisterField("frequency", 6, ValueType.UINT16, scale=0.01),
        RegisterField("temperature", 7, ValueType.INT16),
        RegisterField("total", 8, ValueType.FLOAT64),
        RegisterField("swapped", 12, ValueType.UINT32, word_order=Order.LITTLE),
        # Far enough away to need a second request, and from the input table.
        RegisterField("step", 40, ValueType.UINT32, table=Table.INPUT),
    ]
)


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
        "swapped": 0x0001_0002,
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
                assert len(reading.raw) == METER.frame_size
                assert METER.decode(reading.raw) == expected[unit]
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
            assert METER.decode((await driver.poll("meter-1")).raw)["step"] == 70_001
            server.write_uint32(1, 40, 5)
            server.write_float32(1, 0, -0.5)
            values = METER.decode((await driver.poll("meter-1")).raw)
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
            assert METER.decode((await driver.poll("meter-1")).raw) == expected
            # And the unknown unit keeps failing the same way rather than crashing.
            with pytest.raises(DeviceProtocolError):
                await driver.poll("ghost")
            assert METER.decode((await driver.poll("meter-1")).raw) == expected
        finally:
            await driver.close()

    run_with_server([1], test)


def test_address_beyond_the_device_is_a_protocol_error() -> None:
    beyond = RegisterMap([RegisterField("x", 1000, ValueType.UINT16)])

    async def test(server: RegisterBankServer) -> None:
        expected = fill_meter(server, 1)
        driver = driver_for(
            server, ModbusDevice("beyond", 1, beyond), ModbusDevice("meter-1", 1, METER)
        )
        try:
            with pytest.raises(DeviceProtocolError):
                await driver.poll("beyond")
            assert METER.decode((await driver.poll("meter-1")).raw) == expected
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
            assert METER.decode((await driver.poll("meter-1")).raw)["step"] == 70_001

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
            assert METER.decode(reading.raw)["step"] == 42
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
            assert METER.decode((await driver.poll("meter-1")).raw) == expected
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
            assert METER.decode((await driver.poll("meter-1")).raw) == expected
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
