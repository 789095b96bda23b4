"""The demo's serial and MQTT sensors, started where their peers are installed.

A serial sensor needs a cable: ``socat`` makes a pseudo-terminal pair, the
simulator writes on one end and the gateway reads the other. An MQTT sensor
needs a broker: a private ``mosquitto`` on a free loopback port. Each device
brings what the demo needs to wire it: a data-source type and binding for the
cloud, and a section for gateway.toml. What can't run here is named with why.
"""

from __future__ import annotations

import getpass
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.harness.processes import ChildProcess, find_program, in_namespace

SENSOR_INTERVAL = 0.5
MQTT_TOPIC = "demo/room1"
BLE_LEFT_OUT = (
    "BLE left out: its simulator runs on an in-memory bumble link and needs the BlueZ "
    "stand-in only the tests carry; BLE needs a real adapter and device"
)

FIELD_META = {
    "temperature": {"unit": "°C", "min": -40, "max": 85},
    "humidity": {"unit": "%", "min": 0, "max": 100},
}
# What both simulators send (see drivers/simulators/serial_sensor.py), decoded
# the same from the serial line (in this order) and the JSON payload (by name).
DECODED_FIELDS = [
    {"name": "counter", "type": "integer"},
    {"name": "temperature"},
    {"name": "humidity"},
]


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """A simulated device and how the demo wires it to the cloud and the gateway."""

    source: str
    description: str
    type_name: str
    type_spec: dict[str, Any]
    binding: dict[str, str | int]
    # The gateway.toml array this device's section goes in ("serial", "mqtt"), and the section.
    config_key: str
    section: dict[str, Any]


def start_devices(
    root: Path, children: list[ChildProcess], netns: str | None = None
) -> tuple[list[DemoDevice], list[str]]:
    """Start the devices whose peers are installed; return them and why the others are not.

    With ``netns`` the devices on the network (the MQTT broker and sensor) run
    in that namespace, the gateway's; a pty pair needs no network.
    """
    devices: list[DemoDevice] = []
    left_out: list[str] = []
    socat = find_program("socat")
    if socat is None:
        left_out.append(
            "serial sensor left out: socat, which makes the pty pair standing in for "
            "the cable, is not installed (Debian package: socat)"
        )
    else:
        devices.append(start_serial(root, children, socat))
    mosquitto = find_program("mosquitto")
    if mosquitto is None:
        left_out.append(
            "MQTT sensor left out: mosquitto, the broker it publishes to, is not "
            "installed (Debian package: mosquitto)"
        )
    else:
        devices.append(start_mqtt(root, children, mosquitto, netns))
    left_out.append(BLE_LEFT_OUT)
    return devices, left_out


def start_serial(root: Path, children: list[ChildProcess], socat: str) -> DemoDevice:
    sensor_end, gateway_end = root / "tty-sensor", root / "tty-gateway"
    cable = ChildProcess(
        "socat",
        [f"pty,raw,echo=0,link={sensor_end}", f"pty,raw,echo=0,link={gateway_end}"],
        root / "socat.log",
        program=socat,
    ).start()
    children.append(cable)
    cable.wait_for(
        lambda: sensor_end.exists() and gateway_end.exists(), "its pty links", timeout=10
    )
    interval = str(SENSOR_INTERVAL)
    sensor = ChildProcess(
        "serial-sensor",
        ["simulate", "serial-sensor", "--port", str(sensor_end), "--interval", interval],
        root / "serial-sensor.log",
    )
    children.append(sensor.start())
    return serial_device(gateway_end)


def serial_device(gateway_end: Path) -> DemoDevice:
    """probe-1, read by the gateway on ``gateway_end`` of the pty pair."""
    return DemoDevice(
        source="probe-1",
        description=f"serial sensor probe-1 on {gateway_end} (socat pty pair)",
        type_name="demo serial probe",
        type_spec={
            "transport": "serial",
            "auth_mode": "bound",
            "decoder": {"framing": {"kind": "line"}, "fields": DECODED_FIELDS},
            "fields": FIELD_META,
        },
        binding={"port": str(gateway_end)},
        config_key="serial",
        section={"port": str(gateway_end), "source": "probe-1"},
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int, netns: str | None) -> bool:
    if netns is not None:
        # Another namespace's loopback: the probe has to run in there.
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=0.2)"
        command = [*in_namespace(netns), sys.executable, "-c", probe]
        return subprocess.run(command, capture_output=True, check=False).returncode == 0
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def start_mqtt(
    root: Path, children: list[ChildProcess], mosquitto: str, netns: str | None = None
) -> DemoDevice:
    port = free_port()
    config = root / "mosquitto.conf"
    config.write_text(
        "\n".join(
            [
                f"listener {port} 127.0.0.1",
                # Anonymous is acceptable here only: the broker listens on loopback,
                # lives as long as the demo and carries nothing but simulated readings.
                "allow_anonymous true",
                "persistence false",
                # Run as whoever runs the demo (root would otherwise switch to "mosquitto").
                f"user {getpass.getuser()}",
                "log_dest stderr",
                "log_type error",
                "log_type warning",
            ]
        )
        + "\n"
    )
    broker = ChildProcess(
        "mosquitto", ["-c", str(config)], root / "mosquitto.log", program=mosquitto, netns=netns
    )
    children.append(broker.start())
    broker.wait_for(lambda: _listening(port, netns), f"a listener on port {port}", timeout=10)
    sensor = ChildProcess(
        "mqtt-sensor",
        [
            *("simulate", "mqtt-sensor", "--port", str(port), "--topic", MQTT_TOPIC),
            *("--interval", str(SENSOR_INTERVAL)),
        ],
        root / "mqtt-sensor.log",
        netns=netns,
    )
    children.append(sensor.start())
    return mqtt_device(port)


def mqtt_device(port: int) -> DemoDevice:
    """room-1, publishing on the broker at 127.0.0.1:``port``."""
    return DemoDevice(
        source="room-1",
        description=f"MQTT sensor room-1 on topic {MQTT_TOPIC} (mosquitto on 127.0.0.1:{port})",
        type_name="demo mqtt room sensor",
        type_spec={
            "transport": "mqtt",
            "auth_mode": "bound",
            "decoder": {"format": "json", "fields": DECODED_FIELDS},
            "fields": FIELD_META,
        },
        binding={"topic": MQTT_TOPIC},
        config_key="mqtt",
        section={
            "host": "127.0.0.1",
            "port": port,
            "client_id": "edgeward-demo-gateway",
            "subscriptions": [{"source": "room-1", "topic": MQTT_TOPIC}],
        },
    )
