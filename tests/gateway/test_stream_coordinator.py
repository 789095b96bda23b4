"""StreamCoordinator: readings from real streaming peers through admission, decoded by their
registered type; bad frames refused as undecodable and counted, never fatal."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edgeward.drivers.mqtt.client import Broker, MqttDriver, Subscription, Tls
from edgeward.drivers.serial.framing import LineFramer
from edgeward.drivers.serial.port import SerialSettings
from edgeward.drivers.serial.stream import SerialDriver
from edgeward.drivers.simulators.serial_sensor import values_for
from edgeward.gateway.admission.gate import AdmissionGate
from edgeward.gateway.devices.streaming import StreamCoordinator
from edgeward.gateway.outbox.store import NewReading
from edgeward.harness.processes import ChildProcess
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto
from tests.peers.registry import admission_gate, bound_source
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair

FIELDS = [
    {"name": "counter", "type": "integer"},
    {"name": "temperature", "type": "float"},
    {"name": "humidity", "type": "float"},
]
WAIT = 15.0


async def collect(
    coordinator: StreamCoordinator, queue: asyncio.Queue[NewReading], source: str, count: int
) -> list[NewReading]:
    task = asyncio.create_task(coordinator.run())
    taken: list[NewReading] = []
    try:
        async with asyncio.timeout(WAIT):
            while len(taken) < count:
                reading = await queue.get()
                assert reading.source == source
                taken.append(reading)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return taken


def assert_sensor_values(readings: list[NewReading]) -> None:
    for reading in readings:
        temperature, humidity = values_for(reading.values["counter"])
        assert reading.values == {
            "counter": reading.values["counter"],
            "temperature": temperature,
            "humidity": humidity,
        }


def test_serial_lines_decode_and_garbage_lines_are_counted(tmp_path: Path) -> None:
    options = ("--interval", "0.02", "--garbage-every", "4")
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, *options):
        driver = SerialDriver(SerialSettings(str(pair.device_end)), "probe-1", LineFramer())
        registered = bound_source(
            "probe-1",
            "serial",
            {"framing": {"kind": "line"}, "fields": FIELDS, "separator": ","},
            {"port": str(pair.device_end)},
        )
        gate, queue = admission_gate(tmp_path, [registered])
        coordinator = StreamCoordinator(driver, gate)
        readings = asyncio.run(collect(coordinator, queue, "probe-1", 12))
    assert_sensor_values(readings)
    # Every 4th frame came after a junk line; at least two were sent in twelve frames.
    assert_refused_as_undecodable(gate, coordinator)


def assert_refused_as_undecodable(gate: AdmissionGate, coordinator: StreamCoordinator) -> None:
    """Junk a framer let through is admission's to refuse: counted with its reason."""
    assert gate.refused["undecodable"] + coordinator.health["probe-1"].malformed >= 2
    assert set(gate.refused) <= {"undecodable"}


def test_mqtt_json_decodes_and_non_json_is_counted(tmp_path: Path) -> None:
    with Mosquitto(tmp_path) as mosquitto:
        assert mosquitto.certificates is not None
        password_file = tmp_path / "password"
        password_file.write_text(PASSWORD)
        args = ["simulate", "mqtt-sensor", "--port", str(mosquitto.port), "--topic", "t/1"]
        args += ["--interval", "0.02", "--garbage-every", "3", "--username", USERNAME]
        args += ["--password-file", str(password_file)]
        args += ["--ca-file", str(mosquitto.certificates.ca_file)]
        with ChildProcess("mqtt-sensor", args, tmp_path / "sensor.log"):
            broker = Broker(
                "127.0.0.1",
                mosquitto.port,
                username=USERNAME,
                password=PASSWORD,
                tls=Tls(str(mosquitto.certificates.ca_file)),
            )
            driver = MqttDriver(broker, [Subscription("probe-1", "t/1")])
            fields = [field | {"path": field["name"]} for field in FIELDS]
            decoder = {"format": "json", "fields": fields}
            registered = bound_source("probe-1", "mqtt", decoder, {"topic": "t/1"})
            gate, queue = admission_gate(tmp_path, [registered])
            coordinator = StreamCoordinator(driver, gate)
            readings = asyncio.run(collect(coordinator, queue, "probe-1", 8))
    assert_sensor_values(readings)
    assert all(r.values["counter"] % 3 != 0 for r in readings)
    assert gate.refused["undecodable"] >= 2 and set(gate.refused) == {"undecodable"}
