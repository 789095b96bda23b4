"""gateway.toml sections beyond Modbus TCP: a valid one loads whole, each mistake names its key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.mqtt.client import Subscription
from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.places import Binding, bindings
from tests.gateway.test_config import (
    assert_moved,
    assert_names,
    config_error,
    valid_document,
    write_config,
)


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
                {"source": "pump-1", "unit": 5, "poll_interval": 2.0, "timeout": 0.1},
                {"source": "pump-2", "unit": 6},
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
            # A device whose type sends a request: asked every poll_interval.
            "port": "/dev/ttyUSB1",
            "baudrate": 115200,
            "source": "probe-1",
            "poll_interval": 5.0,
            "timeout": 0.5,
        },
        # One that talks by itself: gone after stale_after seconds of silence.
        {"port": "/dev/ttyUSB2", "source": "probe-2", "stale_after": 10.0},
    ]
    document["mqtt"] = [
        {
            "host": "broker.local",
            "username": "gw",
            "password_file": "mqtt-password",
            "tls": {"ca_file": "ca.pem"},
            "subscriptions": [{"source": "room-1", "topic": "site/+/room1", "qos": 1}],
        }
    ]
    return document


def test_serial_and_mqtt_sections_load(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, stream_document(tmp_path)))
    first, second = config.serial
    assert (first.port, first.baudrate, first.parity, first.bytesize, first.stopbits) == (
        "/dev/ttyUSB1",
        115200,
        "N",
        8,
        1,
    )
    assert (first.source, first.poll_interval, first.timeout, first.stale_after) == (
        "probe-1",
        5.0,
        0.5,
        30.0,
    )
    assert (second.port, second.baudrate, second.source) == ("/dev/ttyUSB2", 9600, "probe-2")
    assert (second.poll_interval, second.timeout, second.stale_after) == (1.0, 1.0, 10.0)
    (mqtt,) = config.mqtt
    broker = mqtt.broker
    assert (broker.host, broker.port, broker.username, broker.password) == (
        "broker.local",
        8883,  # TLS moves the default port
        "gw",
        "hunter2",
    )
    assert broker.tls is not None and broker.tls.ca_file == str(tmp_path / "ca.pem")
    assert (broker.tls.cert_file, broker.tls.key_file) == (None, None)
    assert mqtt.subscriptions == (Subscription("room-1", "site/+/room1", 1),)
    assert config.source_count == 3 + 2 + 2 + 1


def test_serial_poll_interval_timeout_and_stale_after_are_all_bindings(tmp_path: Path) -> None:
    """Whether the type sends a request is the type's: the port takes all three."""
    document = stream_document(tmp_path)
    document["serial"][1].update(poll_interval=0.5, timeout=2.0, stale_after=600)
    config = load_config(write_config(tmp_path, document))
    second = config.serial[1]
    assert (second.poll_interval, second.timeout, second.stale_after) == (0.5, 2.0, 600.0)


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
    assert (second.source, second.unit, second.poll_interval) == ("pump-2", 6, 1.0)
    assert second.timeout is None  # the bus's timeout applies
    assert config.source_count == 3 + 2


def test_every_transport_binds_its_sources_where_the_cloud_does(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, stream_document(tmp_path)))
    rtu = "modbus-rtu:///dev/ttyUSB0"
    assert config.modbus_rtu[0].bus == rtu
    assert [found for found in bindings(config) if found.transport != "modbus"] == [
        Binding("serial[0]", "probe-1", "serial", {"port": "/dev/ttyUSB1"}),
        Binding("serial[1]", "probe-2", "serial", {"port": "/dev/ttyUSB2"}),
        Binding("mqtt[0].subscriptions[0]", "room-1", "mqtt", {"topic": "site/+/room1"}),
    ]
    assert [found for found in bindings(config) if found.binding.get("bus") == rtu] == [
        Binding("modbus_rtu[0].devices[0]", "pump-1", "modbus", {"bus": rtu, "unit": 5}),
        Binding("modbus_rtu[0].devices[1]", "pump-2", "modbus", {"bus": rtu, "unit": 6}),
    ]


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
        "rtu-same-port-twice",
        lambda d: d["modbus_rtu"].append(
            {**_rtu(d), "devices": [{**_rtu(d)["devices"][1], "source": "pump-9"}]}
        ),
        "modbus_rtu[1].port",
        ("a serial port used by one section", "/dev/ttyUSB0"),
    ),
    (
        "rtu-device-timeout-zero",
        lambda d: _rtu(d)["devices"][0].update(timeout=0),
        "modbus_rtu[0].devices[0].timeout",
        ("a number from 0.01 to 60", "0"),
    ),
    (
        "rtu-bytesize",
        lambda d: _rtu(d).update(bytesize=9),
        "modbus_rtu[0].bytesize",
        ("an integer from 7 to 8", "9"),
    ),
    (
        "rtu-unknown-device-key",
        lambda d: _rtu(d)["devices"][1].update(stale_after=5.0),
        "modbus_rtu[0].devices[1].stale_after",
        ("an unknown key", "timeout"),
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
        "serial-poll-interval-zero",
        lambda d: _serial(d).update(poll_interval=0),
        "serial[0].poll_interval",
        ("a number from 0.01 to 86400", "0"),
    ),
    (
        "serial-timeout-too-long",
        lambda d: _serial(d).update(timeout=61),
        "serial[0].timeout",
        ("a number from 0.01 to 60", "61"),
    ),
    (
        "serial-stale-after-too-short",
        lambda d: _serial(d, 1).update(stale_after=0.05),
        "serial[1].stale_after",
        ("a number from 0.1 to 86400", "0.05"),
    ),
    (
        "serial-stale-after-a-string",
        lambda d: _serial(d, 1).update(stale_after="30s"),
        "serial[1].stale_after",
        ("a number from 0.1 to 86400", "'30s'"),
    ),
    (
        "serial-baudrate",
        lambda d: _serial(d).update(baudrate=250000),
        "serial[0].baudrate",
        ("one of 1200", "250000"),
    ),
    (
        "serial-parity",
        lambda d: _serial(d).update(parity="M"),
        "serial[0].parity",
        ("one of 'N', 'E', 'O'", "'M'"),
    ),
    (
        "serial-no-source",
        lambda d: _serial(d, 1).pop("source"),
        "serial[1].source",
        ("a non-empty string", "missing"),
    ),
    (
        "serial-unknown-key",
        lambda d: _serial(d).update(poll=5),
        "serial[0].poll",
        ("an unknown key", "poll_interval", "stale_after"),
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
        "mqtt-password-file-without-username",
        lambda d: _mqtt(d).pop("username"),
        "mqtt[0].password_file",
        ("a username to go with it",),
    ),
    (
        "mqtt-client-cert-without-key",
        lambda d: _mqtt(d)["tls"].update(cert_file="ca.pem"),
        "mqtt[0].tls.key_file",
        ("cert_file and key_file together",),
    ),
    (
        "mqtt-without-subscriptions",
        lambda d: _mqtt(d).update(subscriptions=[]),
        "mqtt[0].subscriptions",
        ("at least one [[mqtt.subscriptions]]",),
    ),
    (
        "mqtt-password-in-the-file",
        lambda d: _mqtt(d).update(password="hunter2"),
        "mqtt[0].password",
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


# Every key an earlier gateway.toml described a device with, where it sat.
MOVED: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    ("modbus_rtu[0].devices[1]", lambda d: _rtu(d)["devices"][1], "registers"),
    # Spelt out, not taken from the parser: a key dropped there must fail here.
    *(
        ("serial[0]", _serial, name)
        for name in (
            *("framing", "delimiter", "checksum", "length_size", "max_length"),
            *("request", "separator", "fields"),
        )
    ),
    ("mqtt[0].subscriptions[0]", lambda d: _mqtt(d)["subscriptions"][0], "fields"),
]


@pytest.mark.parametrize(
    ("where", "table", "name"), MOVED, ids=[f"{where}.{name}" for where, _, name in MOVED]
)
def test_each_key_moved_into_the_type_is_refused_naming_the_converter(
    tmp_path: Path, where: str, table: Callable[[dict[str, Any]], dict[str, Any]], name: str
) -> None:
    """Ignored, it would let the file and the type disagree unseen; refused, whatever it holds."""
    document = stream_document(tmp_path)
    table(document)[name] = [{"name": "level"}] if name in ("registers", "fields") else "x"
    path = write_config(tmp_path, document)
    assert_moved(config_error(path), path, f"{where}.{name}", name)
