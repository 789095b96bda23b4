"""A running gateway rebuilds only the sections a new registry changes.

The real runtime reads two pymodbus servers (one section each) and waits
for a serial source's type; a new registry, signed with the same key and
loaded as a pulled one is (:meth:`RegistrySync.load` runs the same
``_use`` as a pull), moves one meter's register, changes only a unit on
the other and gives the serial source a type. The cloud is away on
purpose: the registry on disk is the only one, as after a restart offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.tcp import ModbusTcpDriver
from edgeward.drivers.simulators.modbus_server import RegisterBankServer
from edgeward.gateway.config.loader import load_config
from edgeward.gateway.devices.polling import PollCoordinator
from edgeward.gateway.runtime.pipeline import GatewayRuntime
from edgeward.gateway.runtime.service import cloud_client
from tests.gateway.config_files import valid_document, write_config
from tests.peers.gateway import read_outbox
from tests.peers.registry import bound_source, write_signed_registry

GATEWAY = "gw-1a2b3c4d5e6f"
SERIAL = {"framing": {"kind": "line"}, "fields": [{"name": "t", "type": "float"}]}


def meter(name: str, port: int, unit: int, address: int, volts: str) -> dict[str, Any]:
    entry = bound_source(
        name,
        "modbus",
        {"registers": [{"name": "voltage", "address": address, "type": "float32"}]},
        {"bus": f"modbus-tcp://127.0.0.1:{port}", "unit": unit},
    )
    entry["type"]["fields"] = {"voltage": {"unit": volts}}
    return entry


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the runtime exposes no event for this
            await asyncio.sleep(0.01)


def test_a_registry_change_restarts_only_the_changed_section(tmp_path: Path) -> None:
    async def main() -> list[tuple[str, dict[str, Any]]]:
        first, second = RegisterBankServer([1]), RegisterBankServer([2])
        for server in (first, second):
            await server.start()
        first.write_float32(1, 0, 230.5)
        second.write_float32(2, 0, 1.5)
        second.write_float32(2, 10, 49.75)
        document = valid_document()
        document["cloud"]["url"] = "http://127.0.0.1:1"  # nothing listens: the cloud is away
        document["modbus_tcp"] = [
            {"host": "127.0.0.1", "port": server.port, "devices": [device]}
            for server, device in (
                (first, {"source": "meter-1", "unit": 1, "poll_interval": 0.05}),
                (second, {"source": "meter-2", "unit": 2, "poll_interval": 0.05}),
            )
        ]
        document["serial"] = [{"port": str(tmp_path / "no-such-tty"), "source": "probe"}]
        path = write_config(tmp_path, document)
        config = load_config(path)
        signer = Ed25519PrivateKey.generate()
        write_signed_registry(
            config.data_dir,
            GATEWAY,
            [meter("meter-1", first.port, 1, 0, "V"), meter("meter-2", second.port, 2, 0, "V")],
            signer,
        )
        stop = asyncio.Event()
        async with cloud_client(config) as client:
            runtime = GatewayRuntime(config, client)
            running = asyncio.create_task(runtime.run(stop))
            try:
                await until(lambda: "serial[0]" in runtime.groups)
                coordinators = {name: group.coordinator for name, group in runtime.groups.items()}
                tasks = dict(runtime.pollers._tasks)
                assert set(tasks) == {"modbus_tcp[0]", "modbus_tcp[1]"}
                assert runtime.groups["serial[0]"].waiting == {
                    "probe": "waiting for its data-source type (not in the registry yet)"
                }
                await until(lambda: {s for s, _ in read_outbox(path)} == {"meter-1", "meter-2"})

                write_signed_registry(
                    config.data_dir,
                    GATEWAY,
                    [
                        meter("meter-1", first.port, 1, 0, "kV"),  # meaning only
                        meter("meter-2", second.port, 2, 10, "V"),  # another register
                        bound_source("probe", "serial", SERIAL, {"port": str(tmp_path)}),
                    ],
                    signer,
                )
                runtime.registry.load()
                await until(lambda: runtime.groups["serial[0]"].coordinator is not None)

                assert runtime.groups["modbus_tcp[0]"].coordinator is coordinators["modbus_tcp[0]"]
                assert runtime.pollers._tasks["modbus_tcp[0]"] is tasks["modbus_tcp[0]"]
                assert not tasks["modbus_tcp[0]"].done()
                rebuilt = runtime.groups["modbus_tcp[1]"].coordinator
                assert rebuilt is not coordinators["modbus_tcp[1]"]
                assert runtime.pollers._tasks["modbus_tcp[1]"] is not tasks["modbus_tcp[1]"]
                assert tasks["modbus_tcp[1]"].done(), "the old poller was stopped"
                assert isinstance(rebuilt, PollCoordinator)
                assert isinstance(rebuilt.driver, ModbusTcpDriver)
                (device,) = rebuilt.driver._devices.values()
                assert device.blocks == (Block(Table.HOLDING, 10, 2),)
                assert runtime.groups["serial[0]"].waiting == {}
                assert "serial[0]" in runtime.pollers._tasks
                await until(lambda: ("meter-2", {"voltage": 49.75}) in read_outbox(path))
            finally:
                stop.set()
                await running
        for server in (first, second):
            await server.stop()
        return read_outbox(path)

    readings = asyncio.run(main())
    meter_2 = [values for source, values in readings if source == "meter-2"]
    changed_at = meter_2.index({"voltage": 49.75})
    assert changed_at > 0
    assert all(values == {"voltage": 1.5} for values in meter_2[:changed_at])
    assert all(values == {"voltage": 49.75} for values in meter_2[changed_at:])
    assert all(values == {"voltage": 230.5} for source, values in readings if source == "meter-1")
