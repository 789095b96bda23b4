"""A dead unit on an RTU bus must not disturb the healthy unit's poll period.

The real coordinator polls both units of one bus (a pymodbus serial server
behind socat); the dead unit's requests each hold the line for their whole
timeout. Periods are measured from the readings' own timestamps.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from pathlib import Path

import pytest

from edgeward.drivers.breaker import BreakerPolicy
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.rtu import ModbusRtuDriver, RtuDevice, SerialLine
from edgeward.drivers.simulators.modbus_server import SerialRegisterBankServer
from edgeward.gateway.devices.polling import PollCoordinator
from tests.peers.registry import admission_gate, bound_source
from tests.peers.socat import PtyPair

# The type's one float32 register, and the one block its plan reads.
REGISTERS = [{"name": "power", "address": 0, "type": "float32"}]
MAP = (Block(Table.HOLDING, 0, 2),)
PERIOD = 0.2
# Long enough that, without the bus scheduler and breaker, each dead request
# would push the healthy poll well past 10% of its period.
DEAD_TIMEOUT = 0.15
PERIODS_MEASURED = 15
# The first round goes first come, first served: until each unit has answered
# or failed once, nobody knows which one is dead, and the healthy unit's
# readings around that round are late. Measure from the steady state: after
# every dead unit has failed once, skip this many more healthy readings.
SETTLING_READINGS = 2


@pytest.mark.parametrize("dead_units", [1, 3])
@pytest.mark.slow
def test_healthy_unit_keeps_its_period_beside_dead_units(tmp_path: Path, dead_units: int) -> None:
    dead = [f"dead-{n}" for n in range(dead_units)]

    async def main(pair: PtyPair) -> list[float]:
        server = SerialRegisterBankServer([1], str(pair.peer_end))
        await server.start()
        driver = ModbusRtuDriver(
            SerialLine(str(pair.device_end)),
            [RtuDevice("healthy", 1, MAP, timeout=1.0)]
            + [RtuDevice(name, 7 + n, MAP, DEAD_TIMEOUT) for n, name in enumerate(dead)],
            breaker=BreakerPolicy(threshold=3, backoff=0.5, backoff_max=2.0),
        )
        bus = f"modbus-rtu://{pair.device_end}"
        registered = bound_source(
            "healthy", "modbus", {"registers": REGISTERS}, {"bus": bus, "unit": 1}
        )
        gate, sink = admission_gate(tmp_path, [registered])
        # The dead units ask to be polled four times as often as the healthy one.
        intervals = {"healthy": PERIOD} | {name: 0.05 for name in dead}
        coordinator = PollCoordinator(driver, intervals, gate)
        task = asyncio.create_task(coordinator.run())
        times: list[int] = []
        settling = SETTLING_READINGS
        try:
            async with asyncio.timeout(PERIOD * PERIODS_MEASURED * 4):
                while len(times) <= PERIODS_MEASURED:
                    reading = await sink.get()
                    assert reading.source == "healthy"
                    if settling:
                        if all(coordinator.health[name].failures for name in dead):
                            settling -= 1
                        continue
                    times.append(reading.time_us)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await server.stop()
        for name in dead:
            assert coordinator.health[name].failures >= 3
            assert not coordinator.health[name].available
        return [(later - earlier) / 1e6 for earlier, later in itertools.pairwise(times)]

    with PtyPair(tmp_path) as pair:
        periods = asyncio.run(main(pair))
    within = [p for p in periods if abs(p - PERIOD) <= PERIOD * 0.1]
    assert abs(statistics.mean(periods) - PERIOD) <= PERIOD * 0.1, periods
    assert len(within) == len(periods), periods
