"""Modbus TCP polls per second through Edgeward's driver, next to a bare pymodbus loop.

Both loops read the same ten holding registers (the simulated meter's map,
one request per poll) from the same server, one request in flight, in the
same process and run, each on its own connection opened once. The machine
is shared and its load swings within seconds, so the loops alternate in
short chunks (``--chunks`` pairs of ``--polls`` polls, the order flipped
every pair) and the overhead reported is the median of the pairs' time
ratios: each pair saw the same load. The total rate of each loop is shown
beside it. The overhead (per-unit breaker, block planning, error
translation, the Reading) is what is comparable between machines. The server is the real program
(``edgeward simulate modbus-meters``) in a child process, so it does not
share the client's event loop; it is stopped on exit.

    python bench/modbus_polls.py [--polls 200] [--chunks 41]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver
from edgeward.harness.processes import ChildProcess
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.builtin import MODBUS_POWER_METER
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import ModbusType

HOST = "127.0.0.1"
TARGET_OVERHEAD = 0.10


def meter_plan() -> RegisterPlan:
    """The built-in power meter's plan, as the gateway makes it from the registry."""
    meter = parse_type_spec(MODBUS_POWER_METER)
    assert isinstance(meter, ModbusType)
    return RegisterPlan(meter.decoder)


async def bare_chunk(client: AsyncModbusTcpClient, polls: int, count: int) -> float:
    """Seconds for ``polls`` reads on a bare pymodbus client."""
    started = time.perf_counter()
    for _ in range(polls):
        response = await client.read_holding_registers(0, count=count, device_id=1)
        assert not response.isError() and len(response.registers) == count
    return time.perf_counter() - started


async def driver_chunk(driver: ModbusTcpDriver, polls: int, frame_size: int) -> float:
    """Seconds for ``polls`` polls through the driver."""
    started = time.perf_counter()
    for _ in range(polls):
        reading = await driver.poll("meter-1")
        assert len(reading.raw) == frame_size
    return time.perf_counter() - started


async def measure(port: int, polls: int, chunks: int) -> tuple[float, float, float]:
    """(bare polls/s, driver polls/s, median of the chunks' driver/bare time ratios)."""
    plan = meter_plan()
    (planned,) = plan.blocks  # one request per poll on both sides
    block = Block(Table(planned.table), planned.address, planned.count)
    client = AsyncModbusTcpClient(HOST, port=port, timeout=2, retries=0, reconnect_delay=0)
    driver = ModbusTcpDriver(HOST, port, [ModbusDevice("meter-1", 1, (block,))], timeout=2)
    await client.connect()
    await driver.open()
    try:
        await bare_chunk(client, polls, block.count)  # warm up both paths
        await driver_chunk(driver, polls, plan.frame_size)
        bare_times: list[float] = []
        driver_times: list[float] = []
        for index in range(chunks):
            pair = [
                (bare_times, bare_chunk(client, polls, block.count)),
                (driver_times, driver_chunk(driver, polls, plan.frame_size)),
            ]
            for times, chunk in pair if index % 2 == 0 else pair[::-1]:
                times.append(await chunk)
    finally:
        client.close()
        await driver.close()
    ratios = [d / b for b, d in zip(bare_times, driver_times, strict=True)]
    total = polls * chunks
    return total / sum(bare_times), total / sum(driver_times), statistics.median(ratios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=200, help="polls per chunk")
    parser.add_argument("--chunks", type=int, default=41, help="chunk pairs")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="edgeward-bench-") as directory:
        port_file = Path(directory) / "port"
        server = ChildProcess(
            "meters",
            ["simulate", "modbus-meters", "--port", "0", "--port-file", str(port_file)],
            Path(directory) / "meters.log",
        )
        with server:
            port = server.wait_for_port_file(port_file)
            bare, driver, ratio = asyncio.run(measure(port, args.polls, args.chunks))
    overhead = ratio - 1
    print(f"Modbus TCP polls/s, {args.chunks} x {args.polls} polls each way, one in flight:")
    print(f"  bare pymodbus client loop   {bare:10.0f}")
    print(f"  edgeward ModbusTcpDriver    {driver:10.0f}")
    verdict = "within" if overhead <= TARGET_OVERHEAD else "OVER"
    target = f"{verdict} the {TARGET_OVERHEAD:.0%} target"
    print(f"  driver overhead (median)    {overhead:10.1%}  ({target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
