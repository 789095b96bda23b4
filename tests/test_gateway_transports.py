"""The gateway program reading Modbus RTU, serial and MQTT peers at once, into its outbox.

Every peer is a real program: the meters simulator serving RTU behind one
socat pty pair, the serial sensor behind another (streaming) and a third
(answering requests, polled by the gateway), a private mosquitto with
TLS and a password, the MQTT sensor. The cloud is left unreachable so that
every reading waits in outbox.db, where the test reads it back.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from edgeward.drivers.simulators.power_meters import METER_REGISTERS
from edgeward.drivers.simulators.serial_sensor import values_for
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.harness.processes import ChildProcess
from tests.peers.gateway import gateway_process, read_outbox
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto, free_port
from tests.peers.registry import bound_source, write_signed_registry
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair

SENSOR_FIELDS = [
    {"name": "counter", "type": "integer"},
    {"name": "temperature", "type": "float"},
    {"name": "humidity", "type": "float"},
]
SOURCES = ("meter-1", "probe-1", "probe-2", "room-1")


def gateway_config(
    root: Path, rtu: PtyPair, serial: PtyPair, asked: PtyPair, mosquitto: Mosquitto
) -> Path:
    directory = root / "gateway"
    write_secret(directory / "credential", "ewg_not_used_the_cloud_is_away")
    write_secret(directory / "mqtt-password", PASSWORD)
    assert mosquitto.certificates is not None
    document: dict[str, Any] = {
        "gateway": {"id": "gw-1a2b3c4d5e6f", "data_dir": "data"},
        "cloud": {"url": f"http://127.0.0.1:{free_port()}", "credential_file": "credential"},
        "uplink": {"idle_interval": 0.05, "backoff_max": 1.0},
        "modbus_rtu": [
            {
                "port": str(rtu.device_end),
                "timeout": 0.5,
                "devices": [
                    {"source": "meter-1", "unit": 1, "poll_interval": 0.1},
                    # Nobody answers as unit 9; it must not stop meter-1 or the rest.
                    {"source": "ghost", "unit": 9, "timeout": 0.05},
                ],
            }
        ],
        "serial": [
            {"port": str(serial.device_end), "source": "probe-1"},
            {"port": str(asked.device_end), "source": "probe-2", "poll_interval": 0.05},
        ],
        "mqtt": [
            {
                "host": "127.0.0.1",
                "port": mosquitto.port,
                "username": USERNAME,
                "password_file": "mqtt-password",
                "tls": {"ca_file": str(mosquitto.certificates.ca_file)},
                "subscriptions": [{"source": "room-1", "topic": "site/room1"}],
            }
        ],
    }
    path = directory / "gateway.toml"
    path.write_text(dump_toml(document))
    write_signed_registry(directory / "data", "gw-1a2b3c4d5e6f", registered(rtu, serial, asked))
    return path


def registered(rtu: PtyPair, serial: PtyPair, asked: PtyPair) -> list[dict[str, Any]]:
    """Every source but the ghost, bound where its driver reads it, typed to read and decode
    its frames (the ghost's unit is bound in gateway.toml but never registered)."""
    streaming = {"fields": SENSOR_FIELDS}
    asked_for = {"framing": {"kind": "stx-etx"}, "request": "READ", "fields": SENSOR_FIELDS}
    return [
        bound_source(
            "meter-1",
            "modbus",
            {"registers": METER_REGISTERS},
            {"bus": f"modbus-rtu://{rtu.device_end}", "unit": 1},
        ),
        bound_source("probe-1", "serial", streaming, {"port": str(serial.device_end)}),
        bound_source("probe-2", "serial", asked_for, {"port": str(asked.device_end)}),
        bound_source(
            "room-1",
            "mqtt",
            {"format": "json", "fields": SENSOR_FIELDS},
            {"topic": "site/room1"},
        ),
    ]


def outbox(config: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for source, values in read_outbox(config):
        found[source].append(values)
    return found


def mqtt_sensor(mosquitto: Mosquitto, directory: Path) -> ChildProcess:
    assert mosquitto.certificates is not None
    password_file = directory / "sensor-password"
    password_file.write_text(PASSWORD)
    args = ["simulate", "mqtt-sensor", "--port", str(mosquitto.port), "--topic", "site/room1"]
    args += ["--interval", "0.05", "--username", USERNAME, "--password-file", str(password_file)]
    args += ["--ca-file", str(mosquitto.certificates.ca_file)]
    return ChildProcess("mqtt-sensor", args, directory / "mqtt-sensor.log")


def test_rtu_serial_and_mqtt_readings_reach_the_outbox_decoded(tmp_path: Path) -> None:
    (tmp_path / "asked").mkdir()
    rtu = PtyPair(tmp_path, ("rtu-gw", "rtu-meters"))
    serial = PtyPair(tmp_path, ("ser-gw", "ser-sensor"))
    asked = PtyPair(tmp_path, ("ask-gw", "ask-sensor"))
    meters = ChildProcess(
        "meters",
        ["simulate", "modbus-meters", "--units", "1", "--serial-port", str(rtu.peer_end)],
        tmp_path / "meters.log",
    )
    with (
        rtu,
        serial,
        asked,
        Mosquitto(tmp_path / "mqtt") as mosquitto,
        meters,
        serial_sensor(serial.peer_end, tmp_path, "--interval", "0.05"),
        serial_sensor(
            asked.peer_end, tmp_path / "asked", "--protocol", "stx", "--respond-to", "READ"
        ),
        mqtt_sensor(mosquitto, tmp_path),
    ):
        config = gateway_config(tmp_path, rtu, serial, asked, mosquitto)
        with gateway_process(config) as gateway:
            gateway.wait_for(
                lambda: all(len(outbox(config)[s]) >= 5 for s in SOURCES),
                "five readings of every source in the outbox",
            )
        assert gateway.process is not None and gateway.process.returncode == 0
    stored = outbox(config)
    assert "ghost" not in stored
    for reading in stored["meter-1"]:
        assert set(reading) == {r["name"] for r in METER_REGISTERS}
        assert 226 <= reading["voltage"] <= 234 and 49.9 <= reading["frequency"] <= 50.1
    # The polled sensor counts requests: one answer per poll, none lost or doubled.
    counters = [reading["counter"] for reading in stored["probe-2"]]
    assert counters == list(range(1, len(counters) + 1))
    for source in ("probe-1", "probe-2", "room-1"):
        for reading in stored[source]:
            temperature, humidity = values_for(reading["counter"])
            assert (reading["temperature"], reading["humidity"]) == (temperature, humidity)
