"""The whole path: a real Modbus server, the gateway program, the cloud program.

Runs on SQLite and on PostgreSQL (the ``cloud`` fixture is parametrized).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgeward.drivers.simulators.modbus_server import RegisterBankServer
from tests.peers.cloud import CloudServer
from tests.peers.gateway import (
    gateway_process,
    outbox_sequences,
    outbox_state,
    write_gateway_config,
)
from tests.peers.modbus import ModbusServerThread

REGISTERS = [
    {"name": "voltage", "address": 0, "type": "float32"},
    {"name": "energy", "address": 2, "type": "uint32"},
    {"name": "balance", "address": 4, "type": "int32"},
    {"name": "frequency", "address": 6, "type": "uint16", "scale": 0.01},
    {"name": "step", "address": 10, "type": "uint32", "table": "input"},
]
# Values each type carries exactly: a wrong byte or word order, scale or sign shows.
STATIC = {
    1: {"voltage": 231.25, "energy": 4_000_000_123, "balance": -123_456, "frequency": 49.98},
    2: {"voltage": 229.5, "energy": 7, "balance": 2_000_000_000, "frequency": 50.01},
}
STEPS = range(1, 6)


def set_static(server: RegisterBankServer) -> None:
    for unit, values in STATIC.items():
        server.write_float32(unit, 0, values["voltage"])
        server.write_uint32(unit, 2, int(values["energy"]))
        server.write_int32(unit, 4, int(values["balance"]))
        server.write(unit, 6, [round(values["frequency"] * 100)])


def test_register_values_arrive_in_the_cloud_exactly_once(
    tmp_path: Path, cloud: CloudServer
) -> None:
    gateway = cloud.add_gateway(sources=[f"meter-{unit}" for unit in STATIC])
    token = cloud.token_with("readings:GET")
    with ModbusServerThread(STATIC) as modbus:
        modbus.update(set_static)
        devices = [
            {"source": f"meter-{unit}", "unit": unit, "poll_interval": 0.1, "registers": REGISTERS}
            for unit in STATIC
        ]
        config = write_gateway_config(tmp_path, cloud, gateway, modbus.port, devices)
        with gateway_process(config) as process:
            for step in STEPS:
                modbus.update(
                    lambda server, step=step: [server.write_uint32(u, 10, step) for u in STATIC]
                )
                process.wait_for(
                    lambda step=step: all(
                        any(
                            r["values"]["step"] == step
                            for r in cloud.all_readings(token, f"meter-{u}")
                        )
                        for u in STATIC
                    ),
                    f"step {step} in the cloud",
                )
        assert process.process is not None and process.process.returncode == 0

    _, waiting = outbox_state(config)
    stored = {unit: cloud.all_readings(token, f"meter-{unit}") for unit in STATIC}
    sequences = Counter(r["seq"] for readings in stored.values() for r in readings)
    assert waiting == 0, "a clean stop leaves nothing unsent"
    assert sequences == Counter(outbox_sequences(config)), "every committed reading, once"
    for unit, readings in stored.items():
        assert {r["gateway_id"] for r in readings} == {gateway.id}
        for reading in readings:
            values = reading["values"]
            assert {k: values[k] for k in STATIC[unit]} == STATIC[unit]
            assert values["step"] in (0, *STEPS)
        assert {r["values"]["step"] for r in readings} >= set(STEPS)
    logs = [tmp_path / "cloud.log", config.parent / "gateway.log"]
    for log in logs:
        text = log.read_text()
        assert text, f"{log} logged something"
        for secret in (gateway.credential, token):
            assert secret not in text, f"a secret leaked into {log.name}"
