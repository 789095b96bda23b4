"""Drivers built from gateway.toml's bindings and the registry's types
(:func:`edgeward.gateway.devices.bindings.device_groups`): what each type's
reading part becomes, which sources wait and why, and fingerprints that
change exactly when what a section's drivers read changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.ble.config import BleCharacteristic, Mode
from edgeward.drivers.ble.driver import BleDriver
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.rtu import ModbusRtuDriver
from edgeward.drivers.modbus.tcp import ModbusTcpDriver
from edgeward.drivers.mqtt.client import MqttDriver
from edgeward.drivers.serial.framing import BlockFramer, LineFramer, StxEtxFramer
from edgeward.drivers.serial.polled import SerialPollingDriver
from edgeward.drivers.serial.stream import SerialDriver
from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.devices.bindings import DeviceGroup, device_groups, waiting_sources
from edgeward.gateway.devices.polling import PollCoordinator
from edgeward.gateway.devices.streaming import StreamCoordinator
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.checks import validate_type_spec
from edgeward.sync.source_types.spec import TypeSpec
from tests.gateway.config_files import valid_document, write_config
from tests.peers.registry import admission_gate

# Float32 input registers spread across undefined gaps, read by a device that
# refuses requests over 16 registers and reads across no gap, with a pause.
METER: dict[str, Any] = {
    "transport": "modbus",
    "auth_mode": "bound",
    "decoder": {
        "registers": [
            {"name": "voltage", "address": 0, "type": "float32", "table": "input"},
            {"name": "current", "address": 2, "type": "float32", "table": "input"},
            {"name": "power", "address": 14, "type": "float32", "table": "input"},
            {"name": "energy", "address": 30, "type": "float32", "table": "input"},
            {"name": "relay", "address": 3, "type": "bool", "table": "coil"},
        ],
        "requests": {"max_registers": 16, "max_gap": 0, "pause": 0.05},
    },
    "fields": {"voltage": {"unit": "V", "min": 0, "max": 500}},
}
METER_BLOCKS = (
    Block(Table.INPUT, 0, 4),
    Block(Table.INPUT, 14, 2),
    Block(Table.INPUT, 30, 2),
    Block(Table.COIL, 3, 1),
)
POLLED: dict[str, Any] = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "framing": {"kind": "stx-etx", "check": "xor"},
        "request": "READ",
        "fields": [{"name": "level", "type": "float"}],
    },
}
STREAMING: dict[str, Any] = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "framing": {"kind": "line", "delimiter": "\r\n", "max_length": 82},
        "fields": [{"name": "t", "type": "float"}, {"name": "h", "type": "float"}],
    },
}
BLOCK: dict[str, Any] = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "framing": {"kind": "block", "start": "/", "end": "!"},
        "format": "regex",
        "fields": [{"name": "energy", "pattern": r"^1\.8\.0\(([0-9.]+)\*kWh\)"}],
    },
}
SENSOR: dict[str, Any] = {
    "transport": "ble",
    "auth_mode": "bound",
    "decoder": {"characteristics": [{"uuid": "2a6e"}, {"uuid": "2a19", "mode": "read"}]},
}
MQTT_PROBE: dict[str, Any] = {
    "transport": "mqtt",
    "auth_mode": "bound",
    "decoder": {"format": "json", "fields": [{"name": "t"}]},
}


def spec(document: dict[str, Any]) -> TypeSpec:
    return parse_type_spec(validate_type_spec(document))


def types(**documents: dict[str, Any]) -> dict[str, TypeSpec]:
    return {name.replace("_", "-"): spec(document) for name, document in documents.items()}


TYPES = types(
    meter_1=METER,
    meter_9=METER,
    tank=POLLED,
    probe=STREAMING,
    p1=BLOCK,
    sensor=SENSOR,
    meter_x=METER,
    wrong=MQTT_PROBE,
    room=MQTT_PROBE,
)


@pytest.fixture
def config(tmp_path: Path) -> GatewayConfig:
    document = valid_document()
    # meter-1 is typed, meter-2 has no type, meter-3 (alone on its endpoint) neither.
    document["modbus_rtu"] = [
        {
            "port": "/dev/ttyRS485",
            "devices": [
                {"source": "meter-9", "unit": 9, "timeout": 0.3},
                {"source": "wrong", "unit": 10},
            ],
        }
    ]
    document["serial"] = [
        {"port": "/dev/ttyTANK", "source": "tank", "poll_interval": 2, "timeout": 0.5},
        {"port": "/dev/ttyPROBE", "source": "probe", "stale_after": 12},
        {"port": "/dev/ttyP1", "source": "p1", "baudrate": 115200},
        {"port": "/dev/ttyNONE", "source": "unknown"},
    ]
    document["mqtt"] = [{"host": "127.0.0.1", "subscriptions": [{"source": "room", "topic": "t"}]}]
    document["ble"] = {
        "devices": [
            {"address": "AA:BB:CC:DD:EE:01", "source": "sensor", "poll_interval": 30},
            {"address": "AA:BB:CC:DD:EE:02", "source": "meter-x"},
        ]
    }
    return load_config(write_config(tmp_path, document))


def groups_of(
    config: GatewayConfig, tmp_path: Path, known: dict[str, TypeSpec]
) -> dict[str, DeviceGroup]:
    gate, _ = admission_gate(tmp_path, [])
    return {group.name: group for group in device_groups(config, known, gate)}


def coordinator_of(group: DeviceGroup) -> PollCoordinator | StreamCoordinator:
    assert group.coordinator is not None, group.waiting
    return group.coordinator


def test_a_modbus_types_plan_becomes_the_drivers_blocks_and_pause(
    config: GatewayConfig, tmp_path: Path
) -> None:
    groups = groups_of(config, tmp_path, TYPES)
    tcp = coordinator_of(groups["modbus_tcp[0]"])
    assert isinstance(tcp, PollCoordinator) and isinstance(tcp.driver, ModbusTcpDriver)
    assert tcp.driver.sources == ("meter-1",)
    (meter,) = tcp.driver._devices.values()
    assert (meter.unit, meter.blocks, meter.pause) == (1, METER_BLOCKS, 0.05)
    assert (tcp.driver.host, tcp.driver.port, tcp.driver.timeout) == ("192.168.1.50", 5020, 1.5)
    assert tcp.intervals == {"meter-1": 0.25}
    rtu = coordinator_of(groups["modbus_rtu[0]"])
    assert isinstance(rtu, PollCoordinator) and isinstance(rtu.driver, ModbusRtuDriver)
    (unit,) = rtu.driver._devices.values()
    assert (unit.source, unit.blocks, unit.pause, unit.timeout) == (
        "meter-9",
        METER_BLOCKS,
        0.05,
        0.3,
    )


def test_sources_without_a_type_of_their_sections_transport_wait_with_the_reason(
    config: GatewayConfig, tmp_path: Path
) -> None:
    groups = groups_of(config, tmp_path, TYPES)
    no_type = "waiting for its data-source type (not in the registry yet)"
    assert groups["modbus_tcp[0]"].waiting == {"meter-2": no_type}
    assert groups["modbus_tcp[1]"].waiting == {"meter-3": no_type}
    assert groups["modbus_tcp[1]"].coordinator is None, "nothing to read, no driver"
    assert groups["modbus_rtu[0]"].waiting == {
        "wrong": "its data-source type reads mqtt, but it is bound in [[modbus]]"
    }
    assert groups["serial[3]"].waiting == {"unknown": no_type}
    assert groups["serial[3]"].coordinator is None
    assert groups["ble"].waiting == {
        "meter-x": "its data-source type reads modbus, but it is bound in [[ble]]"
    }
    assert dict(waiting_sources(list(groups.values()))) == {
        "meter-2": no_type,
        "meter-3": no_type,
        "wrong": "its data-source type reads mqtt, but it is bound in [[modbus]]",
        "unknown": no_type,
        "meter-x": "its data-source type reads modbus, but it is bound in [[ble]]",
    }


def test_without_a_registry_every_bound_source_waits(config: GatewayConfig, tmp_path: Path) -> None:
    groups = groups_of(config, tmp_path, {})
    read = {name for name, group in groups.items() if group.coordinator is not None}
    assert read == {"mqtt[0]"}, "a broker is subscribed whatever the registry says"
    waiting = dict(waiting_sources(list(groups.values())))
    assert set(waiting) == {
        "meter-1",
        "meter-2",
        "meter-3",
        "meter-9",
        "wrong",
        "tank",
        "probe",
        "p1",
        "unknown",
        "sensor",
        "meter-x",
    }


def test_a_serial_type_with_a_request_is_polled_with_its_framer(
    config: GatewayConfig, tmp_path: Path
) -> None:
    tank = coordinator_of(groups_of(config, tmp_path, TYPES)["serial[0]"])
    assert isinstance(tank, PollCoordinator) and isinstance(tank.driver, SerialPollingDriver)
    assert tank.intervals == {"tank": 2.0} and tank.driver.timeout == 0.5
    assert isinstance(tank.driver.framer, StxEtxFramer)
    # The request goes out framed as the type says: STX READ ETX and the XOR of READ ETX.
    check = 0
    for byte in b"READ\x03":
        check ^= byte
    assert tank.driver.request == b"\x02READ\x03" + bytes([check])


def test_a_serial_type_without_a_request_streams_with_its_framer(
    config: GatewayConfig, tmp_path: Path
) -> None:
    groups = groups_of(config, tmp_path, TYPES)
    probe = coordinator_of(groups["serial[1]"])
    assert isinstance(probe, StreamCoordinator) and isinstance(probe.driver, SerialDriver)
    assert probe.driver.stale_after == 12.0 and probe.driver.source == "probe"
    framer = probe.driver.framer
    assert isinstance(framer, LineFramer)
    # Its delimiter and its max_length: a line over 82 bytes is malformed.
    fed = framer.feed(b"21.5,40\r\n" + b"9" * 100 + b"\r\n21.6,41\r\n")
    assert fed == ([b"21.5,40", b"21.6,41"], 1)

    p1 = coordinator_of(groups["serial[2]"])
    assert isinstance(p1, StreamCoordinator) and isinstance(p1.driver, SerialDriver)
    block = p1.driver.framer
    assert isinstance(block, BlockFramer)
    telegram = b"/ISK5\\2M550T\r\n\r\n1-0:1.8.0(001234.567*kWh)\r\n!1E2F\r\n"
    frames, malformed = block.feed(b"junk\r\n" + telegram)
    assert frames == [b"/ISK5\\2M550T\r\n\r\n1-0:1.8.0(001234.567*kWh)\r\n!1E2F"]
    assert malformed == 1


def test_a_ble_types_characteristics_become_the_devices(
    config: GatewayConfig, tmp_path: Path
) -> None:
    ble = coordinator_of(groups_of(config, tmp_path, TYPES)["ble"])
    assert isinstance(ble, StreamCoordinator) and isinstance(ble.driver, BleDriver)
    (device,) = ble.driver.devices
    assert (device.source, device.match.address) == ("sensor", "AA:BB:CC:DD:EE:01")
    assert device.characteristics == (
        BleCharacteristic("2a6e", Mode.NOTIFY, poll_interval=30.0),
        BleCharacteristic("2a19", Mode.POLL, poll_interval=30.0),
    )


def test_mqtt_subscribes_its_bindings(config: GatewayConfig, tmp_path: Path) -> None:
    mqtt = coordinator_of(groups_of(config, tmp_path, TYPES)["mqtt[0]"])
    assert isinstance(mqtt, StreamCoordinator) and isinstance(mqtt.driver, MqttDriver)
    assert mqtt.driver.sources == ("room",)


def changed(document: dict[str, Any], edit: Any) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    edit(copied)
    return copied


def meter_register(address: int) -> Any:
    return lambda d: d["decoder"]["registers"][3].update(address=address)


# (what changes, which type, the edit, the sections whose fingerprint changes)
CHANGES = [
    ("a field's unit", "meter-1", lambda d: d["fields"]["voltage"].update(unit="kV"), set()),
    ("a scale", "meter-1", lambda d: d["decoder"]["registers"][0].update(scale=0.1), set()),
    ("an address", "meter-1", meter_register(40), {"modbus_tcp[0]"}),
    (
        "the pause",
        "meter-9",
        lambda d: d["decoder"]["requests"].update(pause=0.2),
        {"modbus_rtu[0]"},
    ),
    (
        "request limits that re-plan",
        "meter-1",
        lambda d: d["decoder"]["requests"].update(max_gap=16),
        {"modbus_tcp[0]"},
    ),
    (
        "request limits that plan alike",
        "meter-1",
        lambda d: d["decoder"]["requests"].update(max_bits=8),
        set(),
    ),
    ("a serial field", "probe", lambda d: d["decoder"]["fields"][0].update(scale=2), set()),
    (
        "serial framing",
        "probe",
        lambda d: d["decoder"]["framing"].update(max_length=200),
        {"serial[1]"},
    ),
    ("the request", "tank", lambda d: d["decoder"].update(request="R?"), {"serial[0]"}),
    (
        "a characteristic's mode",
        "sensor",
        lambda d: d["decoder"]["characteristics"][0].update(mode="read"),
        {"ble"},
    ),
    (
        "a characteristic's layout",
        "sensor",
        lambda d: d["decoder"]["characteristics"][0].update(
            layout=[{"name": "temperature", "type": "int16", "scale": 0.01}]
        ),
        set(),
    ),
]
DOCUMENTS = {
    "meter-1": METER,
    "meter-9": METER,
    "tank": POLLED,
    "probe": STREAMING,
    "sensor": SENSOR,
}


@pytest.mark.parametrize(
    ("source", "edit", "sections"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_fingerprints_change_exactly_when_a_types_reading_part_does(
    config: GatewayConfig, tmp_path: Path, source: str, edit: Any, sections: set[str]
) -> None:
    before = groups_of(config, tmp_path, TYPES)
    after = groups_of(config, tmp_path, TYPES | {source: spec(changed(DOCUMENTS[source], edit))})
    assert {
        name for name in before if before[name].fingerprint != after[name].fingerprint
    } == sections


def test_a_source_that_gets_a_type_or_loses_it_changes_its_sections_fingerprint(
    config: GatewayConfig, tmp_path: Path
) -> None:
    before = groups_of(config, tmp_path, TYPES)
    gained = groups_of(config, tmp_path, TYPES | {"meter-2": spec(METER)})
    lost = groups_of(config, tmp_path, {k: v for k, v in TYPES.items() if k != "p1"})
    assert {n for n in before if before[n].fingerprint != gained[n].fingerprint} == {
        "modbus_tcp[0]"
    }
    assert {n for n in before if before[n].fingerprint != lost[n].fingerprint} == {"serial[2]"}
    # Another reason to wait changes no driver.
    retyped = groups_of(config, tmp_path, TYPES | {"meter-3": spec(SENSOR)})
    assert all(before[n].fingerprint == retyped[n].fingerprint for n in before)
    assert retyped["modbus_tcp[1]"].waiting == {
        "meter-3": "its data-source type reads ble, but it is bound in [[modbus]]"
    }
