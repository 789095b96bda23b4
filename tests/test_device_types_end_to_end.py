"""Devices described once, by their data-source type, read end to end with real peers.

Each test creates its type through the cloud's API, registers a source of
it, writes a gateway.toml that only binds the source to where it is, runs
the real gateway, and reads the exact values back from ``GET /v1/readings``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from tests.peers.cloud import CloudServer
from tests.peers.device_site import Site, talking
from tests.peers.gateway import gateway_process, modbus_tcp_bus
from tests.peers.modbus import ModbusServerThread
from tests.peers.socat import PtyPair

# A meter that defines only these input registers, answers "illegal address"
# for any other and "illegal value" for a request over 16 registers.
PICKY_DEFINED = [range(0, 2), range(20, 22), range(40, 42), range(60, 63)]
SWAPPED_AT = 100
SWAPPED = [index * 1.25 - 3 for index in range(10)]  # exact in float32
PICKY = {"voltage": 231.5, "current": 4.75, "power": 1099.625, "energy": 123456.5}


def _undefined(defined: list[range], swapped: range) -> list[range]:
    taken = {address for span in [*defined, swapped] for address in span}
    return [range(address, address + 1) for address in range(256) if address not in taken]


def _set_meters(server: Any) -> None:
    for value, address in zip(PICKY.values(), (0, 20, 40, 60), strict=True):
        server.write_float32(1, address, value)
    server.write(1, 62, [5002])
    for index, value in enumerate(SWAPPED):
        high, low = struct.unpack(">HH", struct.pack(">f", value))
        server.write(2, SWAPPED_AT + 2 * index, [low, high])  # CDAB: low word first


def picky_type() -> dict[str, Any]:
    registers: list[dict[str, Any]] = [
        {"name": name, "table": "input", "address": address, "type": "float32"}
        for name, address in zip(PICKY, (0, 20, 40, 60), strict=True)
    ]
    registers.append(
        {"name": "frequency", "table": "input", "address": 62, "type": "uint16", "scale": 0.01}
    )
    return {
        "transport": "modbus",
        "auth_mode": "bound",
        "decoder": {"registers": registers, "requests": {"max_registers": 16, "max_gap": 0}},
        "fields": {"frequency": {"unit": "Hz", "min": 40, "max": 70}},
    }


def swapped_type() -> dict[str, Any]:
    registers = [
        {"name": f"v{index}", "address": SWAPPED_AT + 2 * index, "type": "float32", "order": "CDAB"}
        for index in range(len(SWAPPED))
    ]
    return {
        "transport": "modbus",
        "auth_mode": "bound",
        "decoder": {"registers": registers, "requests": {"max_registers": 16}},
    }


def test_picky_and_word_swapped_meters_read_exactly(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    swapped_span = range(SWAPPED_AT, SWAPPED_AT + 2 * len(SWAPPED))
    undefined = _undefined(PICKY_DEFINED, swapped_span)
    with ModbusServerThread([1, 2], max_registers=16, undefined=undefined) as modbus:
        modbus.update(_set_meters)
        bus = modbus_tcp_bus(modbus.port)
        site.register("picky-1", picky_type(), {"bus": bus, "unit": 1})
        site.register("swapped-2", swapped_type(), {"bus": bus, "unit": 2})
        devices = [
            {"source": "picky-1", "unit": 1, "poll_interval": 0.1},
            {"source": "swapped-2", "unit": 2, "poll_interval": 0.1},
        ]
        config = site.config(
            {"modbus_tcp": [{"host": "127.0.0.1", "port": modbus.port, "devices": devices}]}
        )
        with gateway_process(config) as process:
            picky = site.wait_for_reading(process, "picky-1")
            swapped = site.wait_for_reading(process, "swapped-2")
        refused = modbus.server.refused
    assert picky["values"] == {**PICKY, "frequency": 50.02}
    assert swapped["values"] == {f"v{index}": value for index, value in enumerate(SWAPPED)}
    assert refused == 0, "the gateway kept to the meter's limits: no request was refused"


GGA = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
# What receivers send beside positions: passed over by the built-in type, not refused.
TXT = b"$GPTXT,01,01,02,ANTSTATUS=OK*3B\r\n"
RMC = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
# The same sentences with one digit changed and their old checksums.
CORRUPT = [
    b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,999.4,M,46.9,M,,*47\r\n",
    b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,999.4,230394,003.1,W*6A\r\n",
]


def test_a_gps_sending_mixed_sentences_is_read_by_the_built_in_type(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    site = Site(sqlite_cloud, tmp_path)
    with PtyPair(tmp_path, ("gps-gw", "gps-device")) as cable:
        with site.api() as api:
            body = {
                "name": "gps-1",
                "type_id": "builtin:nmea-0183",
                "gateway_id": site.gateway.id,
                "binding": {"port": str(cable.device_end)},
            }
            assert api.post("/v1/data-sources", json=body).status_code == 201
        config = site.config(
            {"serial": [{"port": str(cable.device_end), "baudrate": 4800, "source": "gps-1"}]}
        )
        with talking(cable.peer_end, [GGA, TXT, *CORRUPT, RMC]), gateway_process(config) as process:
            process.wait_for(
                lambda: (
                    {r["values"]["sentence"] for r in site.readings("gps-1")} == {"GPGGA", "GPRMC"}
                    and site.refusals("gps-1", "checksum") >= 2
                    and site.ignored() >= 1
                ),
                "GGA and RMC readings in the cloud, corrupt sentences refused as checksum, "
                "TXT passed over",
            )
    stored = {r["values"]["sentence"]: r["values"] for r in site.readings("gps-1")}
    assert stored["GPGGA"] == {
        "sentence": "GPGGA",
        "time": "12:35:19",
        "latitude": 48.1173,
        "longitude": 11.5166667,
        "fix_quality": 1,
        "satellites": 8,
        "hdop": 0.9,
        "altitude": 545.4,
        "geoid_separation": 46.9,
    }
    assert stored["GPRMC"]["latitude"] == 48.1173 and stored["GPRMC"]["date"] == "1994-03-23"
    assert stored["GPRMC"]["speed_knots"] == 22.4 and stored["GPRMC"]["course"] == 84.4
    assert site.refusals("gps-1", "undecodable") == 0, "a TXT sentence is no security event"
    corrupted = [r for r in site.readings("gps-1") if 999.4 in r["values"].values()]
    assert not corrupted, "no sentence with a wrong checksum got in"


TELEGRAM = b"/XMX5LGBBFG1012463128\r\n\r\n1-0:1.8.1(001234.567*kWh)\r\n1-0:1.7.0(01.193*kW)\r\n!"
METER_BLOCKS = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "framing": {"kind": "block", "start": "^/", "end": "^!"},
        "checksum": {"algorithm": "crc16-arc", "marker": "!", "covers_marker": True},
        "format": "regex",
        "fields": [
            {"name": "energy", "pattern": "^1-0:1\\.8\\.1\\(([0-9.]+)\\*kWh\\)"},
            {"name": "power", "pattern": "^1-0:1\\.7\\.0\\(([0-9.]+)\\*kW\\)"},
        ],
    },
}


def test_a_meter_sending_blocks_closed_by_a_crc_is_read_and_bad_blocks_refused(
    tmp_path: Path, sqlite_cloud: CloudServer
) -> None:
    from crccheck.crc import Crc16Arc

    site = Site(sqlite_cloud, tmp_path)
    good = TELEGRAM + b"%04X\r\n" % Crc16Arc.calc(TELEGRAM)
    bad = good.replace(b"001234.567", b"009999.567")
    with PtyPair(tmp_path, ("p1-gw", "p1-meter")) as cable:
        site.register("p1-meter", METER_BLOCKS, {"port": str(cable.device_end)})
        config = site.config({"serial": [{"port": str(cable.device_end), "source": "p1-meter"}]})
        with talking(cable.peer_end, [good, bad]), gateway_process(config) as process:
            process.wait_for(
                lambda: bool(site.readings("p1-meter")) and site.refusals("p1-meter", "checksum"),
                "a telegram in the cloud and a corrupt one refused as checksum",
            )
    values = {tuple(sorted(r["values"].items())) for r in site.readings("p1-meter")}
    assert values == {(("energy", 1234.567), ("power", 1.193))}
