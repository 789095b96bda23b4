"""Decoders built from registry types: what they read, and that no input crashes them.

Each must return named values or refuse with ``undecodable``; anything else
raised would kill the coordinator that handed the frame over.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.gateway.admission import decoders
from edgeward.sync.registry import validate_type_spec
from edgeward.sync.reports import ReportRejected

SPECS: dict[str, dict[str, Any]] = {
    "modbus": {
        "registers": [
            {"name": "voltage", "address": 0, "type": "float32"},
            {"name": "serial", "address": 2, "type": "string", "count": 2},
        ]
    },
    "mqtt": {"fields": {"temperature": "sensor.t", "ok": "ok"}},
    "serial": {"fields": ["counter", "temperature"], "separator": ";"},
    "ble": {
        "characteristics": [
            {
                "uuid": "2a6e",
                "layout": [
                    {"name": "temperature", "offset": 0, "type": "int16", "scale": 0.01},
                    {"name": "wide", "offset": 2, "type": "float64"},
                    {"name": "on", "offset": 10, "type": "bool"},
                ],
            }
        ]
    },
}
ORIGINS = {
    "modbus": "modbus-tcp://10.0.0.5:502/3",
    "mqtt": "mqtt://b:1883/site/t",
    "serial": "serial:///dev/ttyUSB0",
    "ble": "ble://C0:00:00:00:00:2A/00002a6e-0000-1000-8000-00805f9b34fb",
}


def build(transport: str) -> decoders.Decoder:
    spec = validate_type_spec(
        {"transport": transport, "auth_mode": "bound", "decoder": SPECS[transport]}
    )
    return decoders.build(transport, spec["decoder"])


def test_each_transport_reads_its_frames() -> None:
    frame = struct.pack(">f", 230.5) + b"AB12"
    assert build("modbus")(frame, ORIGINS["modbus"]) == {"voltage": 230.5, "serial": "AB12"}
    payload = json.dumps({"sensor": {"t": 21.5}, "ok": True}).encode()
    assert build("mqtt")(payload, ORIGINS["mqtt"]) == {"temperature": 21.5, "ok": True}
    assert build("serial")(b"7;21.50\r\n", ORIGINS["serial"]) == {"counter": 7, "temperature": 21.5}
    ble = struct.pack("<hd?", -1234, 2.5, True)
    assert build("ble")(ble, ORIGINS["ble"]) == {"temperature": -12.34, "wide": 2.5, "on": True}


@pytest.mark.parametrize(
    ("transport", "frame"),
    [
        ("modbus", b"\x00" * 5),
        ("mqtt", b'{"sensor": {"t": NaN}, "ok": true}'),
        ("mqtt", b'{"sensor": {"t": [1]}, "ok": true}'),
        ("mqtt", b"[]"),
        ("serial", b"7;21.5;9"),
        ("serial", b"7;inf"),
        ("ble", b"\x01\x02"),
    ],
)
def test_bad_frames_are_undecodable(transport: str, frame: bytes) -> None:
    with pytest.raises(ReportRejected) as caught:
        build(transport)(frame, ORIGINS[transport])
    assert caught.value.reason == "undecodable"


@settings(max_examples=400, deadline=None)
@given(
    transport=st.sampled_from(sorted(SPECS)),
    frame=st.binary(max_size=64),
    origin=st.text(max_size=40),
)
def test_no_frame_crashes_a_decoder(transport: str, frame: bytes, origin: str) -> None:
    try:
        values = build(transport)(frame, origin or ORIGINS[transport])
    except ReportRejected as refusal:
        assert refusal.reason == "undecodable"
        return
    assert all(isinstance(name, str) for name in values)
