"""A second example type: a multi-line block closed by a block checksum (a DSMR P1 meter).

A Dutch/Belgian smart meter's P1 port sends a telegram every second or ten:
a ``/`` header line, OBIS-coded lines ``1-0:1.8.1(000004.426*kWh)``, and
``!`` followed by the CRC-16/ARC of everything from ``/`` to ``!`` in four
hex digits (DSMR 5.0.2 P1 companion standard, sections 6.2 and 6.12). The
type reads it with block framing, a marker checksum that covers its marker,
and per-field patterns searched line by line.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from edgeward.drivers.serial.framing import BlockFramer
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.spec import BlockFraming, SerialType
from edgeward.sync.source_types.text import TextFrameDecoder, check_text
from tests.sync.source_types.telegrams import DSMR_V5


def obis(name: str, code: str, unit: str, **keys: Any) -> dict[str, Any]:
    """A field read from the line of OBIS ``code``: ``code(value*unit)``."""
    escaped = code.replace(".", r"\.")
    return {"name": name, "pattern": rf"^{escaped}\(([0-9.]+)\*{unit}\)", **keys}


DSMR_P1: dict[str, Any] = {
    "transport": "serial",
    "auth_mode": "bound",
    "decoder": {
        "format": "regex",
        "checksum": {"algorithm": "crc16-arc", "marker": "!", "covers_marker": True},
        "framing": {"kind": "block", "start": "/", "end": "!", "max_length": 4096},
        "fields": [
            {"name": "meter", "type": "string", "pattern": r"^/(\S+)"},
            {"name": "version", "type": "string", "pattern": r"^1-3:0\.2\.8\((\d+)\)"},
            {
                "name": "timestamp",
                "type": "time",
                "format": "%y%m%d%H%M%S",
                "pattern": r"^0-0:1\.0\.0\((\d{12})[SW]\)",
            },
            obis("energy_delivered_tariff1", "1-0:1.8.1", "kWh"),
            obis("energy_delivered_tariff2", "1-0:1.8.2", "kWh"),
            obis("energy_returned_tariff1", "1-0:2.8.1", "kWh"),
            obis("energy_returned_tariff2", "1-0:2.8.2", "kWh"),
            {"name": "tariff", "type": "integer", "pattern": r"^0-0:96\.14\.0\((\d+)\)"},
            obis("power_delivered", "1-0:1.7.0", "kW", scale=1000.0),
            obis("power_returned", "1-0:2.7.0", "kW", scale=1000.0),
            obis("voltage_l1", "1-0:32.7.0", "V", required=False),
            obis("current_l1", "1-0:31.7.0", "A", required=False),
            {
                "name": "gas_delivered",
                "pattern": r"^0-\d:24\.2\.1\(\d{12}[SW]\)\(([0-9.]+)\*m3\)",
                "required": False,
            },
        ],
    },
    "fields": {
        "timestamp": {"description": "the meter's local time"},
        "energy_delivered_tariff1": {"unit": "kWh", "min": 0},
        "energy_delivered_tariff2": {"unit": "kWh", "min": 0},
        "energy_returned_tariff1": {"unit": "kWh", "min": 0},
        "energy_returned_tariff2": {"unit": "kWh", "min": 0},
        "tariff": {"min": 1, "max": 2},
        "power_delivered": {"unit": "W", "min": 0},
        "power_returned": {"unit": "W", "min": 0},
        "voltage_l1": {"unit": "V", "min": 0, "max": 500},
        "current_l1": {"unit": "A", "min": 0},
        "gas_delivered": {"unit": "m3", "min": 0},
    },
    "examples": [
        {
            "text": DSMR_V5.decode(),
            "values": {
                "meter": "ISk5\\2MT382-1000",
                "version": "50",
                "timestamp": "2017-01-02T19:20:02",
                "energy_delivered_tariff1": 4.426,
                "energy_delivered_tariff2": 2.399,
                "energy_returned_tariff1": 2.444,
                "energy_returned_tariff2": 0.0,
                "tariff": 2,
                "power_delivered": 244.0,
                "power_returned": 0.0,
                "voltage_l1": 230.0,
                "current_l1": 0.48,
                "gas_delivered": 0.107,
            },
        },
        {"text": DSMR_V5.decode().replace("00.244*kW", "00.245*kW"), "refused": "checksum"},
        {"text": DSMR_V5.decode()[:-4], "refused": "checksum"},  # DSMR 2.2 style: no CRC
    ],
}


def serial_type(document: dict[str, Any]) -> SerialType:
    spec = parse_type_spec(document)
    assert isinstance(spec, SerialType)
    return spec


SPEC = serial_type(DSMR_P1)
DECODER = TextFrameDecoder(SPEC.decoder)
VALUES = SPEC.examples[0].values or {}


def test_the_block_type_parses_and_passes_its_checks() -> None:
    check_text(SPEC.decoder, "decoder")
    assert isinstance(SPEC.decoder.framing, BlockFraming)


@pytest.mark.parametrize("index", range(len(SPEC.examples)))
def test_its_examples_decode_exactly_or_are_refused(index: int) -> None:
    example = SPEC.examples[index]
    assert example.text is not None
    if example.refused is None:
        assert DECODER.decode(example.text.encode()) == example.values
        return
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(example.text.encode())
    assert caught.value.reason == example.refused


def framer() -> BlockFramer:
    framing = SPEC.decoder.framing
    assert isinstance(framing, BlockFraming)
    return BlockFramer(framing.end, framing.start, framing.delimiter.encode(), framing.max_length)


def test_telegrams_from_the_port_through_the_block_framer() -> None:
    sent = DSMR_V5 + b"\r\n"
    port = framer()
    port.reset(mid_stream=True)  # opened mid-telegram: its tail is no frame
    frames, malformed = port.feed(sent[500:] + sent + b"\x00\xff\r\n" + sent)
    assert malformed == 1  # the noise line before the second start
    assert [DECODER.decode(frame) for frame in frames] == [VALUES, VALUES]


def test_a_telegram_cut_at_a_line_is_malformed_and_the_next_one_arrives() -> None:
    sent = DSMR_V5 + b"\r\n"
    cut = sent[: sent.index(b"1-0:1.7.0")]
    frames, malformed = framer().feed(cut + sent)
    assert (len(frames), malformed) == (1, 1)
    assert DECODER.decode(frames[0]) == VALUES


def test_a_telegram_cut_mid_line_hides_the_next_header_and_its_crc_refuses_both() -> None:
    # The cut line runs into the next "/" header, so the framer can't see a start: the
    # frame it makes is the cut telegram plus the next one's body, and the CRC says no.
    sent = DSMR_V5 + b"\r\n"
    frames, malformed = framer().feed(sent[:300] + sent + sent)
    assert (len(frames), malformed) == (2, 0)
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(frames[0])
    assert caught.value.reason == "checksum"
    assert DECODER.decode(frames[1]) == VALUES


def test_a_missing_line_is_absent_when_optional_and_refused_when_required() -> None:
    without_gas = DSMR_V5.replace(b"0-1:24.2.1(170102161005W)(00000.107*m3)\r\n", b"")
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(without_gas)
    assert caught.value.reason == "checksum"  # the CRC covers every line
    relaxed = TextFrameDecoder(msgspec.structs.replace(SPEC.decoder, checksum=None))
    assert relaxed.decode(without_gas) == {k: v for k, v in VALUES.items() if k != "gas_delivered"}
    without_tariff = DSMR_V5.replace(b"0-0:96.14.0(0002)\r\n", b"")
    with pytest.raises(ReportRejected) as caught:
        relaxed.decode(without_tariff)
    assert (caught.value.reason, caught.value.field) == ("undecodable", "tariff")
