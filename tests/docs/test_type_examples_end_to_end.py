"""Every data-source type the docs show, read end to end from a real device.

For each documented type of a transport: the type is created through the
cloud's API, a source of it registered and bound in gateway.toml; a real
device (a pymodbus server, a device on a socat pty, an MQTT publisher on a
mosquitto broker, a bumble BLE peripheral) sends each of the type's
examples; the real gateway reads and decodes them; ``GET /v1/readings``
then holds exactly the example's values, an example to refuse is counted
by the gateway under its reason, and one its type passes over is counted
as ignored.

An example that decodes to no value at all (a "value not known" code)
leaves nothing to read back, so it is only checked by the cloud when the
type is created (test_type_blocks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from edgeward.gateway.config.toml_writer import write_secret
from edgeward.harness.processes import ChildProcess
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.modbus import BIT_TABLES, RegisterPlan
from edgeward.sync.source_types.spec import ModbusType
from edgeward.sync.source_types.uuids import normalize_uuid
from tests.docs.pages import documented_types
from tests.peers.bluez.world import BleWorld
from tests.peers.cloud import CloudServer
from tests.peers.device_site import Site
from tests.peers.gateway import gateway_process, modbus_tcp_bus
from tests.peers.modbus import ModbusServerThread
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto, publish, publisher
from tests.peers.socat import PtyPair

pytestmark = pytest.mark.slow

Example = dict[str, Any]
Send = Callable[[Example], None]


def documented(transport: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(where, spec) for where, spec in documented_types() if spec["transport"] == transport]
    assert found, f"the reference shows a {transport} type"
    return found


def source_name(where: str) -> str:
    """A source name from where the type is documented (``docs/...md:84``)."""
    return "doc-" + where.rsplit("/", 1)[-1].replace(".md:", "-")


def read_back(site: Site, process: ChildProcess, source: str, where: str, send: Send) -> int:
    """Have the device send each example of ``where``'s type until the cloud shows it
    decoded (or the gateway counted it refused, or passed over); how many were checked."""
    spec = dict(documented_types())[where]
    checked = 0
    for index, example in enumerate(spec["examples"]):
        what = f"{where} example {index}"
        if example.get("refused"):
            reason = example["refused"]
            before = site.refusals(source, reason)

            def refused(
                example: Example = example, reason: str = reason, before: int = before
            ) -> bool:
                send(example)
                return site.refusals(source, reason) > before

            process.wait_for(refused, f"{what} refused as {reason}")
        elif example.get("ignored"):
            passed_over = site.ignored()

            def ignored(example: Example = example, before: int = passed_over) -> bool:
                send(example)
                return site.ignored() > before

            process.wait_for(ignored, f"{what} passed over")
        elif example.get("values"):

            def stored(example: Example = example) -> bool:
                send(example)
                return example["values"] in [r["values"] for r in site.readings(source)]

            process.wait_for(stored, f"{what} in the cloud as {example['values']}")
        else:
            continue
        checked += 1
    return checked


def frame_registers(spec: dict[str, Any], frame: bytes) -> list[tuple[str, int, list[int]]]:
    """Where a Modbus example's frame sits on the device: (table, address, words) per
    planned request, in the order the gateway reads them."""
    parsed = parse_type_spec(spec)
    assert isinstance(parsed, ModbusType)
    placed, offset = [], 0
    for block in RegisterPlan(parsed.decoder).blocks:
        assert block.table not in BIT_TABLES, "documented Modbus examples hold registers only"
        chunk = frame[offset : offset + block.size]
        words = [int.from_bytes(chunk[i : i + 2], "big") for i in range(0, len(chunk), 2)]
        placed.append((block.table, block.address, words))
        offset += block.size
    assert offset == len(frame), "the example is the whole planned frame"
    return placed


def test_documented_modbus_types_read_from_a_meter(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    types = documented("modbus")
    limit = min(spec["decoder"].get("requests", {}).get("max_registers", 125) for _, spec in types)
    units = list(range(1, len(types) + 1))
    # As picky as the pickiest documented meter, input registers apart from holding ones.
    with ModbusServerThread(units, max_registers=limit, separate_input=True) as modbus:
        bus = modbus_tcp_bus(modbus.port)
        devices = []
        for unit, (where, spec) in zip(units, types, strict=True):
            site.register(source_name(where), spec, {"bus": bus, "unit": unit})
            devices.append({"source": source_name(where), "unit": unit, "poll_interval": 0.1})
        config = site.config(
            {"modbus_tcp": [{"host": "127.0.0.1", "port": modbus.port, "devices": devices}]}
        )
        with gateway_process(config) as process:
            for unit, (where, spec) in zip(units, types, strict=True):

                def send(example: Example, unit: int = unit, spec: dict[str, Any] = spec) -> None:
                    placed = frame_registers(spec, bytes.fromhex(example["hex"]))

                    def load(server: Any) -> None:
                        for table, address, words in placed:
                            server.write(unit, address, words, table=table)

                    modbus.update(load)

                assert read_back(site, process, source_name(where), where, send) >= 1
        assert modbus.server.refused == 0, "the gateway kept to the meter's request limits"


def serial_frame(spec: dict[str, Any], example: Example) -> bytes:
    """An example's frame as the device puts it on the line."""
    framing = spec["decoder"].get("framing", {"kind": "line"})
    assert framing["kind"] in ("line", "block"), f"a device for {framing['kind']} framing"
    body = example["text"].encode() if "text" in example else bytes.fromhex(example["hex"])
    return body + framing.get("delimiter", "\n").encode()


def test_documented_serial_types_read_from_a_device(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    types = documented("serial")
    cables = [PtyPair(tmp_path, (f"gw-{n}", f"device-{n}")) for n in range(len(types))]
    lines: list[serial.Serial] = []
    try:
        for cable, (where, spec) in zip(cables, types, strict=True):
            cable.start()
            site.register(source_name(where), spec, {"port": str(cable.device_end)})
            lines.append(serial.Serial(str(cable.peer_end), timeout=1))
        sections = [
            {"port": str(cable.device_end), "source": source_name(where)}
            for cable, (where, _) in zip(cables, types, strict=True)
        ]
        with gateway_process(site.config({"serial": sections})) as process:
            for line, (where, spec) in zip(lines, types, strict=True):

                def send(example: Example, line: Any = line, spec: Any = spec) -> None:
                    line.write(serial_frame(spec, example))

                assert read_back(site, process, source_name(where), where, send) >= 1
    finally:
        for line in lines:
            line.close()
        for cable in cables:
            cable.stop()


def test_documented_mqtt_types_read_from_a_publisher(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    types = documented("mqtt")
    with Mosquitto(tmp_path / "mqtt") as mosquitto, publisher(mosquitto) as client:
        assert mosquitto.certificates is not None
        write_secret(site.root / "gateway" / "mqtt-password", PASSWORD)
        subscriptions = []
        for where, spec in types:
            topic = f"docs/{source_name(where)}"
            site.register(source_name(where), spec, {"topic": topic})
            subscriptions.append({"source": source_name(where), "topic": topic})
        broker = {
            "host": "127.0.0.1",
            "port": mosquitto.port,
            "username": USERNAME,
            "password_file": "mqtt-password",
            "tls": {"ca_file": str(mosquitto.certificates.ca_file)},
            "subscriptions": subscriptions,
        }
        with gateway_process(site.config({"mqtt": [broker]})) as process:
            for where, _ in types:

                def send(example: Example, topic: str = f"docs/{source_name(where)}") -> None:
                    payload = example["text"].encode() if "text" in example else b""
                    publish(client, topic, payload or bytes.fromhex(example["hex"]))

                assert read_back(site, process, source_name(where), where, send) >= 1


BLE_ADDRESS = "C0:00:00:00:00:D0"


def test_documented_ble_types_read_from_a_sensor(
    tmp_path: Path, sqlite_cloud: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    ((where, spec),) = documented("ble")
    custom = {
        normalize_uuid(c["uuid"]): b"\x00" * 8
        for c in spec["decoder"]["characteristics"]
        if "layout" in c
    }
    (tmp_path / "ble").mkdir()
    with BleWorld(tmp_path / "ble") as world:
        sensor = world.add_sensor(BLE_ADDRESS, "doc-sensor", custom=custom)
        site.register(source_name(where), spec, {"address": BLE_ADDRESS})
        ble = {
            "scan_timeout": 0.5,
            "timeout": 3.0,
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "devices": [
                {"address": BLE_ADDRESS, "source": source_name(where), "poll_interval": 0.1}
            ],
        }
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", world.bus_address)
        with gateway_process(site.config({"ble": ble})) as process:

            def send(example: Example) -> None:
                uuid, raw = normalize_uuid(example["characteristic"]), bytes.fromhex(example["hex"])
                world.run(lambda: sensor.set_raw(uuid, raw))

            assert read_back(site, process, source_name(where), where, send) >= 1
