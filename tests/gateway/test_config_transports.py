"""gateway.toml sections beyond Modbus TCP: a valid one loads whole, each mistake names its key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.modbus.register_map import Table, ValueType
from edgeward.drivers.serial.framing import Checksum, LineFramer, StxEtxFramer
from edgeward.gateway.config.loader import load_config
from edgeward.sync.frames import FieldType
from tests.gateway.test_config import assert_names, config_error, valid_document, write_config


def rtu_document() -> dict[str, Any]:
    document = valid_document()
    document["modbus_rtu"] = [
        {
            "port": "/dev/ttyUSB0",
            "baudrate": 9600,
            "parity": "E",
            "stopbits": 1,
            "timeout": 0.3,
            "devices": [
                {
                    "source": "pump-1",
                    "unit": 5,
                    "poll_interval": 2.0,
                    "timeout": 0.1,
                    "registers": [
                        {"name": "running", "address": 0, "type": "bool", "table": "coil"},
                        {"name": "model", "address": 10, "type": "string", "count": 8},
                    ],
                },
                {
                    "source": "pump-2",
                    "unit": 6,
                    "registers": [
                        {"name": "fault", "address": 3, "type": "bool", "table": "discrete_input"}
                    ],
                },
            ],
        }
    ]
    return document


def stream_document(directory: Path) -> dict[str, Any]:
    document = rtu_document()
    (directory / "mqtt-password").parent.mkdir(parents=True, exist_ok=True)
    (directory / "mqtt-password").write_text("hunter2\n")
    (directory / "mqtt-password").chmod(0o600)
    (directory / "ca.pem").write_text("not checked until connecting\n")
    document["serial"] = [
        {
            "port": "/dev/ttyUSB1",
            "baudrate": 115200,
            "source": "probe-1",
            "framing": "stx_etx",
            "checksum": "sum",
            "request": "READ",
            "poll_interval": 5.0,
            "timeout": 0.5,
            "separator": ";",
            "fields": [{"name": "counter", "type": "int"}, {"name": "temperature"}],
        },
        {
            "port": "/dev/ttyUSB2",
            "source": "probe-2",
            "fields": [{"name": "level"}],
        },
    ]
    document["mqtt"] = [
        {
            "host": "broker.local",
            "username": "gw",
            "password_file": "mqtt-password",
            "tls": {"ca_file": "ca.pem"},
            "subscriptions": [
                {
                    "source": "room-1",
                    "topic": "site/+/room1",
                    "qos": 1,
                    "fields": [{"name": "t", "path": "sensor.temperature"}],
                }
            ],
        }
    ]
    return document


def test_serial_and_mqtt_sections_load(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, stream_document(tmp_path)))
    first, second = config.serial
    assert (first.port, first.baudrate, first.framing, first.checksum) == (
        "/dev/ttyUSB1",
        115200,
        "stx_etx",
        Checksum.SUM,
    )
    assert (first.request, first.poll_interval, first.timeout, first.separator) == (
        b"READ",
        5.0,
        0.5,
        ";",
    )
    assert [(f.name, f.type) for f in first.fields] == [
        ("counter", FieldType.INT),
        ("temperature", FieldType.FLOAT),
    ]
    assert isinstance(first.framer(), StxEtxFramer)
    assert (second.framing, second.delimiter, second.request) == ("line", b"\n", None)
    assert isinstance(second.framer(), LineFramer)
    (mqtt,) = config.mqtt
    broker = mqtt.broker
    assert (broker.host, broker.port, broker.username, broker.password) == (
        "broker.local",
        8883,  # TLS moves the default port
        "gw",
        "hunter2",
    )
    assert broker.tls is not None and broker.tls.ca_file == str(tmp_path / "ca.pem")
    (entry,) = mqtt.subscriptions
    assert (entry.subscription.source, entry.subscription.topic, entry.subscription.qos) == (
        "room-1",
        "site/+/room1",
        1,
    )
    assert entry.fields[0].path == "sensor.temperature"
    assert config.source_count == 3 + 2 + 2 + 1


def test_decoder_fields_are_optional_and_named_as_unused(tmp_path: Path) -> None:
    """The registry's type decodes: gateway.toml needs only what the drivers read by."""
    document = stream_document(tmp_path)
    _serial(document, 1).pop("fields")
    _mqtt(document)["subscriptions"][0].pop("fields")
    config = load_config(write_config(tmp_path, document))
    assert config.serial[1].fields == () and config.mqtt[0].subscriptions[0].fields == ()
    assert config.unused_decoder_keys == [config.serial[0].source]


def test_modbus_rtu_section_loads(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, rtu_document()))
    (bus,) = config.modbus_rtu
    assert (bus.port, bus.baudrate, bus.parity, bus.bytesize, bus.stopbits, bus.timeout) == (
        "/dev/ttyUSB0",
        9600,
        "E",
        8,
        1,
        0.3,
    )
    first, second = bus.devices
    assert (first.source, first.unit, first.poll_interval, first.timeout) == ("pump-1", 5, 2.0, 0.1)
    assert second.timeout is None  # the bus's timeout applies
    running, model = first.register_map.fields
    assert (running.type, running.table) == (ValueType.BOOL, Table.COIL)
    assert (model.type, model.count) == (ValueType.STRING, 8)
    assert config.source_count == 3 + 2


def _rtu(document: dict[str, Any]) -> dict[str, Any]:
    bus: dict[str, Any] = document["modbus_rtu"][0]
    return bus


MISTAKES: list[tuple[str, Callable[[dict[str, Any]], object], str, tuple[str, ...]]] = [
    (
        "rtu-parity",
        lambda d: _rtu(d).update(parity="even"),
        "modbus_rtu[0].parity",
        ("one of 'N', 'E', 'O'", "'even'"),
    ),
    (
        "rtu-baudrate",
        lambda d: _rtu(d).update(baudrate=10000),
        "modbus_rtu[0].baudrate",
        ("one of 1200", "10000"),
    ),
    (
        "rtu-broadcast-unit",
        lambda d: _rtu(d)["devices"][0].update(unit=0),
        "modbus_rtu[0].devices[0].unit",
        ("an integer from 1 to 247",),
    ),
    (
        "rtu-no-port",
        lambda d: _rtu(d).pop("port"),
        "modbus_rtu[0].port",
        ("a non-empty string", "missing"),
    ),
    (
        "rtu-string-without-count",
        lambda d: _rtu(d)["devices"][0]["registers"][1].pop("count"),
        "modbus_rtu[0].devices[0].registers",
        ("count",),
    ),
    (
        "rtu-bool-in-holding",
        lambda d: _rtu(d)["devices"][0]["registers"][0].pop("table"),
        "modbus_rtu[0].devices[0].registers",
        ("bool",),
    ),
    (
        "rtu-same-port-twice",
        lambda d: d["modbus_rtu"].append(
            {**_rtu(d), "devices": [{**_rtu(d)["devices"][1], "source": "pump-9"}]}
        ),
        "modbus_rtu[1].port",
        ("a serial port used by one section", "/dev/ttyUSB0"),
    ),
    (
        "source-on-tcp-and-rtu",
        lambda d: _rtu(d)["devices"][1].update(source="meter-1"),
        "modbus_rtu[0].devices[1].source",
        ("a data source configured once", "'meter-1' again"),
    ),
    (
        "timeout-on-a-tcp-device",
        lambda d: d["modbus_tcp"][0]["devices"][0].update(timeout=1.0),
        "modbus_tcp[0].devices[0].timeout",
        ("an unknown key",),
    ),
]


def _serial(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    port: dict[str, Any] = document["serial"][index]
    return port


def _mqtt(document: dict[str, Any]) -> dict[str, Any]:
    broker: dict[str, Any] = document["mqtt"][0]
    return broker


MISTAKES += [
    (
        "serial-delimiter-with-stx",
        lambda d: _serial(d).update(delimiter=";"),
        "serial[0].delimiter",
        ("no delimiter with framing 'stx_etx'",),
    ),
    (
        "serial-unknown-framing",
        lambda d: _serial(d).update(framing="slip"),
        "serial[0].framing",
        ("one of 'line', 'stx_etx', 'length_prefixed'", "'slip'"),
    ),
    (
        "serial-timeout-without-request",
        lambda d: _serial(d, 1).update(timeout=2.0),
        "serial[1].timeout",
        ("a request to go with it",),
    ),
    (
        # Deprecated and optional (the registry decodes), but never present and empty.
        "serial-empty-fields",
        lambda d: _serial(d, 1).update(fields=[]),
        "serial[1].fields",
        ("at least one",),
    ),
    (
        "serial-field-type",
        lambda d: _serial(d)["fields"][0].update(type="double"),
        "serial[0].fields[0].type",
        ("one of 'int', 'float', 'str', 'bool'", "'double'"),
    ),
    (
        "serial-port-shared-with-rtu",
        lambda d: _serial(d, 1).update(port="/dev/ttyUSB0"),
        "serial[1].port",
        ("a serial port used by one section",),
    ),
    (
        "serial-source-again",
        lambda d: _serial(d, 1).update(source="pump-1"),
        "serial[1].source",
        ("'pump-1' again",),
    ),
    (
        "mqtt-password-file-readable-by-others",
        lambda d: (Path(d["_dir"]) / "mqtt-password").chmod(0o644),
        "mqtt[0].password_file",
        ("chmod 600", "0644"),
    ),
    (
        "mqtt-missing-ca-file",
        lambda d: _mqtt(d)["tls"].update(ca_file="nowhere.pem"),
        "mqtt[0].tls.ca_file",
        ("an existing file",),
    ),
    (
        "mqtt-bad-topic-filter",
        lambda d: _mqtt(d)["subscriptions"][0].update(topic="site/#/x"),
        "mqtt[0].subscriptions[0].topic",
        ("an MQTT topic filter",),
    ),
    (
        "mqtt-qos",
        lambda d: _mqtt(d)["subscriptions"][0].update(qos=3),
        "mqtt[0].subscriptions[0].qos",
        ("an integer from 0 to 2",),
    ),
    (
        "mqtt-password-in-the-file",
        lambda d: _mqtt(d).update(password="hunter2"),
        "mqtt[0].password",
        ("an unknown key",),
    ),
    (
        "mqtt-path-in-a-serial-field",
        lambda d: _serial(d)["fields"][0].update(path="x"),
        "serial[0].fields[0].path",
        ("an unknown key",),
    ),
]


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [mistake[1:] for mistake in MISTAKES],
    ids=[mistake[0] for mistake in MISTAKES],
)
def test_each_transport_mistake_names_file_key_and_expectation(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], object],
    key: str,
    expected: tuple[str, ...],
) -> None:
    document = stream_document(tmp_path)
    document["_dir"] = str(tmp_path)
    change(document)
    del document["_dir"]
    path = write_config(tmp_path, document)
    assert_names(config_error(path), path, key, *expected)
