"""Simulated power meters on Modbus TCP or RTU, with values that change like real ones."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import time
from pathlib import Path

from edgeward.drivers.simulators.modbus_server import (
    RegisterBankServer,
    SerialRegisterBankServer,
)

# The meter's register map (holding registers, big-endian words), as a
# gateway.toml would describe it.
METER_REGISTERS: list[dict[str, object]] = [
    {"name": "voltage", "address": 0, "type": "float32"},
    {"name": "current", "address": 2, "type": "float32"},
    {"name": "power", "address": 4, "type": "float32"},
    {"name": "energy", "address": 6, "type": "uint32"},
    {"name": "frequency", "address": 8, "type": "uint16", "scale": 0.01},
]
UPDATE_INTERVAL = 0.5


class PowerMeters:
    """Several meters (one per unit id) whose readings drift every half second."""

    def __init__(self, server: RegisterBankServer) -> None:
        self.server = server
        self.energy_wh = {unit: 1000.0 * unit for unit in server.banks}
        self._rng = random.Random()  # noqa: S311 - simulated noise

    def update(self, now: float) -> None:
        for unit in self.server.banks:
            voltage = 230.0 + 3.0 * math.sin(now / 7.0 + unit)
            current = max(0.0, 4.0 * unit + 1.5 * math.sin(now / 3.0) + self._rng.gauss(0, 0.1))
            power = voltage * current
            self.energy_wh[unit] += power * UPDATE_INTERVAL / 3600.0
            self.server.write_float32(unit, 0, round(voltage, 2))
            self.server.write_float32(unit, 2, round(current, 3))
            self.server.write_float32(unit, 4, round(power, 1))
            self.server.write_uint32(unit, 6, int(self.energy_wh[unit]))
            self.server.write(unit, 8, [round(5000 + 5 * math.sin(now / 11.0))])


async def serve_power_meters(
    host: str,
    port: int,
    units: list[int],
    port_file: Path | None,
    stop: asyncio.Event,
    serial_port: str | None = None,
) -> None:
    """Serve until ``stop``: on TCP, or as RTU units on ``serial_port`` if given."""
    server = (
        SerialRegisterBankServer(units, serial_port)
        if serial_port
        else RegisterBankServer(units, host=host, port=port)
    )
    meters = PowerMeters(server)
    meters.update(time.time())
    await server.start()
    if port_file is not None and serial_port is None:
        temporary = port_file.with_suffix(".tmp")
        temporary.write_text(f"{server.port}\n")
        os.replace(temporary, port_file)
    try:
        while not stop.is_set():
            meters.update(time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), UPDATE_INTERVAL)
    finally:
        await server.stop()


def run_power_meters(
    host: str, port: int, units: list[int], port_file: str | None, serial_port: str | None = None
) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        port_path = Path(port_file) if port_file else None
        await serve_power_meters(host, port, units, port_path, stop, serial_port)

    asyncio.run(main())
    return 0
