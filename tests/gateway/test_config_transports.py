"""gateway.toml sections beyond Modbus TCP: a valid one loads whole, each mistake names its key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.modbus.register_map import Table, ValueType
from edgeward.gateway.config import load_config
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
    document = rtu_document()
    change(document)
    path = write_config(tmp_path, document)
    assert_names(config_error(path), path, key, *expected)
