"""Text decoding: exact values from good frames, the right refusal (and field) for every bad one."""

from __future__ import annotations

import operator
import struct
from collections.abc import Sequence
from functools import reduce
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types.checksums import compute
from edgeward.sync.source_types.conversions import Value
from edgeward.sync.source_types.spec import BinaryField, TextDecoder
from edgeward.sync.source_types.text import LayoutDecoder, TextFrameDecoder


def build(**keys: Any) -> TextFrameDecoder:
    return TextFrameDecoder(msgspec.convert(keys, TextDecoder))


def refused(decoder: TextFrameDecoder, frame: bytes, reason: str = "undecodable") -> ReportRejected:
    with pytest.raises(ReportRejected) as caught:
        decoder.decode(frame)
    assert caught.value.reason == reason, caught.value
    return caught.value


def xor_hex(text: bytes) -> bytes:
    return f"{reduce(operator.xor, text, 0):02X}".encode()


# ---------------------------------------------------------------- delimited

PROBE = build(
    separator=";",
    fields=[
        {"name": "counter", "type": "integer"},
        {"name": "temperature"},
        {"name": "label", "type": "string", "required": False},
        {"name": "alarm", "type": "boolean", "at": 5, "required": False},
    ],
)


def test_fields_by_position_default_the_next_and_white_space_goes() -> None:
    assert PROBE.decode(b"7; 21.5 ;north;x;y;on;extra") == {
        "counter": 7,
        "temperature": 21.5,
        "label": "north",
        "alarm": True,
    }


def test_optional_fields_empty_or_beyond_the_frame_are_absent() -> None:
    assert PROBE.decode(b"7;21.5; ") == {"counter": 7, "temperature": 21.5}
    assert PROBE.decode(b"7;21.5") == {"counter": 7, "temperature": 21.5}


def test_a_required_field_empty_or_missing_is_refused_by_name() -> None:
    error = refused(PROBE, b"7;;north")
    assert (error.field, error.detail) == ("temperature", "field 'temperature' is empty or missing")
    assert refused(PROBE, b"7").field == "temperature"


def test_frames_that_are_not_utf8_are_undecodable() -> None:
    assert refused(PROBE, b"7;21.5;\xff\xfe").detail == "the frame is not UTF-8 text"


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("integer", "-12", -12),
        ("integer", "+0012", 12),
        ("float", "-.5", -0.5),
        ("float", "5.", 5.0),
        ("float", "1.5e3", 1500.0),
        ("boolean", "TRUE", True),
        ("boolean", "off", False),
        ("boolean", "Yes", True),
        ("boolean", "0", False),
        ("string", "a b", "a b"),
        ("time", "123519", "12:35:19"),
        ("time", "123519.50", "12:35:19.5"),
        ("time", "000000.000", "00:00:00"),
        ("time", "235960.125", "23:59:60.125"),  # a leap second
    ],
)
def test_each_type_reads_its_text(kind: str, text: str, value: Value) -> None:
    decoder = build(fields=[{"name": "v", "type": kind}])
    result = decoder.decode(text.encode())["v"]
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("integer", "1_000"),  # Python's int() takes these: a device never means them
        ("integer", "١٢"),
        ("integer", "12.0"),
        ("integer", "0x1F"),
        ("float", "nan"),
        ("float", "inf"),
        ("float", "1e999"),
        ("float", "1_0.5"),
        ("float", "٣.5"),
        ("float", "1.2.3"),
        ("boolean", "2"),
        ("boolean", "enabled"),
        ("time", "243000"),
        ("time", "126000"),
        ("time", "1235"),
        ("time", "12:35:19"),
        ("time", "123519.1234567890"),
    ],
)
def test_text_that_is_not_of_the_type_is_undecodable(kind: str, text: str) -> None:
    error = refused(build(fields=[{"name": "v", "type": kind}]), text.encode())
    assert (error.field, error.value) == ("v", repr(text))


def test_an_enum_value_not_listed_is_out_of_range() -> None:
    decoder = build(fields=[{"name": "status", "type": "enum", "values": ["A", "V"]}])
    assert decoder.decode(b"V") == {"status": "V"}
    error = refused(decoder, b"X", "out-of-range")
    assert (error.field, error.value) == ("status", "'X'")


@pytest.mark.parametrize(
    ("kind", "fmt", "text", "value"),
    [
        ("date", "%d%m%y", "230394", "1994-03-23"),
        ("date", "%Y-%m-%d", "2026-12-05", "2026-12-05"),
        ("time", "%H:%M", "12:35", "12:35:00"),
        ("time", "%H:%M:%S.%f", "12:35:19.5", "12:35:19.500000"),
        ("time", "%y%m%d%H%M%S", "170102192002", "2017-01-02T19:20:02"),
        ("time", "%Y-%m-%dT%H:%M:%S%z", "2026-12-05T12:35:19+0100", "2026-12-05T12:35:19+01:00"),
    ],
)
def test_formats_parse_with_strptime_into_iso_8601(
    kind: str, fmt: str, text: str, value: str
) -> None:
    assert build(fields=[{"name": "v", "type": kind, "format": fmt}]).decode(text.encode()) == {
        "v": value
    }


@pytest.mark.parametrize("text", ["310294", "320194", "23039x", "230394 12"])
def test_a_date_that_does_not_fit_its_format_is_undecodable(text: str) -> None:
    decoder = build(fields=[{"name": "date", "type": "date", "format": "%d%m%y"}])
    assert refused(decoder, text.encode()).field == "date"


def test_conversions_apply_after_the_type() -> None:
    decoder = build(
        fields=[
            {"name": "power", "type": "integer", "scale": 0.01, "unknown": [-1]},
            {"name": "flags", "type": "integer", "bits": [{"name": "alarm", "bit": 1}]},
            {"name": "relay", "type": "boolean", "lookup": {"ON": True, "OFF": False}},
            {"name": "state", "type": "string", "lookup": {"1": "idle", "2": "busy"}},
        ]
    )
    assert decoder.decode(b"4998,2,ON,2") == {
        "power": 49.98,
        "flags": 2,
        "alarm": True,
        "relay": True,
        "state": "busy",
    }
    assert decoder.decode(b"-1,0,OFF,1") == {
        "flags": 0,
        "alarm": False,
        "relay": False,
        "state": "idle",
    }
    error = refused(decoder, b"1,0,on,1", "out-of-range")  # a lookup reads the text exactly
    assert (error.field, error.value) == ("relay", "'on'")


def test_an_integer_beyond_floats_with_a_scale_is_out_of_range() -> None:
    decoder = build(fields=[{"name": "n", "type": "integer", "scale": 0.5}])
    assert refused(decoder, b"9" * 400, "out-of-range").field == "n"


def test_an_integer_beyond_ints_digit_limit_is_undecodable() -> None:
    assert refused(build(fields=[{"name": "n", "type": "integer"}]), b"9" * 5000).field == "n"


POSITION = build(
    fields=[
        {
            "name": "latitude",
            "convert": "degrees-minutes",
            "hemisphere": "ns",
            "required": False,
        },
        {"name": "ns", "type": "string", "emit": False, "required": False},
        {"name": "longitude", "convert": "degrees-minutes", "hemisphere": "ew"},
        {"name": "ew", "type": "string", "emit": False},
    ]
)


def test_degrees_minutes_with_their_hemispheres() -> None:
    assert POSITION.decode(b"4807.038,N,01131.000,E") == {
        "latitude": 48.1173,
        "longitude": 11.5166667,
    }
    assert POSITION.decode(b"3352.1280,S,15112.56,W") == {
        "latitude": -33.8688,
        "longitude": -151.2093333,
    }
    assert POSITION.decode(b"0000.0000,S,000.5,W") == {"latitude": -0.0, "longitude": -0.0083333}
    assert POSITION.decode(b",,12000,E") == {"longitude": 120.0}  # no latitude, no N/S needed
    # Three degree digits at most; whether 123 degrees is a latitude is the type's range's
    # business (fields.latitude.max), not the reader's.
    assert POSITION.decode(b"12345.6,N,00000.5,E") == {"latitude": 123.76, "longitude": 0.0083333}


@pytest.mark.parametrize(
    ("frame", "field", "value"),
    [
        (b"4807.038,,01131.000,E", "ns", None),
        (b"4807.038,X,01131.000,E", "ns", "'X'"),
        (b"4807.038,n,01131.000,E", "ns", "'n'"),
        (b"4807.038,N,01131.000,", "ew", None),  # required: empty is refused first
        (b"4860.000,N,01131.000,E", "latitude", "'4860.000'"),  # 60 minutes
        (b"48,N,01131.000,E", "latitude", "'48'"),
        (b"-4807.038,N,01131.000,E", "latitude", "'-4807.038'"),
        (b"1234567.8,N,01131.000,E", "latitude", "'1234567.8'"),
    ],
)
def test_positions_that_cant_be_read_are_undecodable(
    frame: bytes, field: str, value: str | None
) -> None:
    error = refused(POSITION, frame)
    assert (error.field, error.value) == (field, value)


# ---------------------------------------------------------------- records and field checksums

RECORDS = build(
    tag_at=0,
    records=[
        {
            "name": "temp",
            "tag": "T[0-9]",
            "fields": [{"name": "t"}, {"name": "unit", "type": "string"}],
        },
        {"name": "any", "tag": "T.*", "fields": [{"name": "other", "type": "string"}]},
        {"name": "humidity", "tag": "H", "fields": [{"name": "h", "at": 2}]},
    ],
)


def test_the_tag_chooses_the_record_and_default_positions_skip_it() -> None:
    assert RECORDS.decode(b"T1,21.5,C") == {"t": 21.5, "unit": "C"}
    assert RECORDS.decode(b"T12,21.5,C") == {"other": "21.5"}  # the tag matches whole
    assert RECORDS.decode(b"H,x,40") == {"h": 40.0}


def test_a_frame_no_record_claims_names_its_tag() -> None:
    error = refused(RECORDS, b"P,1")
    assert (error.detail, error.value) == ("no record kind has the tag 'P'", "'P'")
    assert "no tag" in refused(build(tag_at=3, records=RECORDS.decoder.records), b"T1,1").detail


def test_unmatched_ignore_passes_over_frames_no_record_claims() -> None:
    passing = build(tag_at=0, records=RECORDS.decoder.records, unmatched="ignore")
    with pytest.raises(FrameIgnored, match="no record kind has the tag 'P'"):
        passing.decode(b"P,1")
    assert passing.decode(b"T1,21.5,C") == {"t": 21.5, "unit": "C"}
    refused(passing, b"T1,warm,C")  # a record it reads is still checked: refused, not passed
    assert "no tag" in refused(build(tag_at=3, records=RECORDS.decoder.records), b"T1,1").detail


def test_unmatched_ignore_needs_something_to_match() -> None:
    with pytest.raises(SpecError) as caught:
        build(fields=[{"name": "t"}], unmatched="ignore")
    assert caught.value.path == "decoder.unmatched"


FIELD_CHECKSUM = build(
    checksum={"algorithm": "xor8", "field": "cs", "skip": 1},
    records=[
        {
            "name": "reading",
            "tag": "R",
            "fields": [{"name": "v"}, {"name": "cs", "type": "string", "emit": False}],
        },
        {
            "name": "status",
            "tag": "S",
            "fields": [
                {"name": "cs", "type": "string", "at": 1, "emit": False},
                {"name": "code", "type": "integer", "at": 2},
            ],
        },
    ],
)


def test_a_checksum_field_covers_the_text_before_its_separator() -> None:
    assert FIELD_CHECKSUM.decode(b"#R,21.5," + xor_hex(b"R,21.5") + b",ignored") == {"v": 21.5}
    assert FIELD_CHECKSUM.decode(b"#S," + xor_hex(b"S").lower() + b",4") == {"code": 4}


@pytest.mark.parametrize(
    ("frame", "value"),
    [
        (b"#R,21.6," + xor_hex(b"R,21.5"), repr(xor_hex(b"R,21.5").decode())),
        (b"#R,21.5,", None),
        (b"#R,21.5", None),
        (b"#R,21.5,1", "'1'"),
        (b"#R,21.5,ZZ", "'ZZ'"),
    ],
)
def test_a_checksum_field_that_fails_is_refused_naming_it(frame: bytes, value: str | None) -> None:
    error = refused(FIELD_CHECKSUM, frame, "checksum")
    assert (error.field, error.value) == ("cs", value)


def test_a_marker_checksum_is_checked_before_anything_else() -> None:
    decoder = build(
        checksum={"algorithm": "crc16-xmodem", "marker": "*"},
        fields=[{"name": "v", "type": "integer"}],
    )
    assert decoder.decode(b"42*" + f"{compute('crc16-xmodem', b'42'):04X}".encode()) == {"v": 42}
    assert refused(decoder, b"4x*0000", "checksum").value == "'0000'"


# ---------------------------------------------------------------- regex

METER = build(
    format="regex",
    pattern=r"(?P<id>\w+) (?P<kwh>[0-9.]+)kWh(?: (?P<state>on|off))?",
    fields=[
        {"name": "meter", "type": "string", "group": "id"},
        {"name": "kwh"},
        {"name": "state", "type": "boolean", "required": False},
    ],
)


def test_a_decoder_pattern_fullmatches_and_fields_read_their_groups() -> None:
    assert METER.decode(b"m1 12.5kWh on") == {"meter": "m1", "kwh": 12.5, "state": True}
    assert METER.decode(b"m1 12.5kWh") == {"meter": "m1", "kwh": 12.5}  # the group took no part
    error = refused(METER, b"m1 12.5kWh on trailing")
    assert error.detail == "the frame does not match the decoder's pattern"


BLOCK = build(
    format="regex",
    fields=[
        {"name": "energy", "pattern": r"^1-0:1\.8\.1\(([0-9.]+)\*kWh\)"},
        {"name": "power", "pattern": r"^1-0:1\.7\.0\(([0-9.]+)\*kW\)", "required": False},
        {"name": "serial", "type": "string", "pattern": r"^0-0:96\.1\.1\(([0-9A-F]*)\)"},
    ],
)


def test_field_patterns_search_line_by_line() -> None:
    frame = b"/X\r\n\r\n0-0:96.1.1(4B38)\r\n1-0:1.8.1(000004.426*kWh)\r\n"
    assert BLOCK.decode(frame) == {"energy": 4.426, "serial": "4B38"}
    assert BLOCK.decode(frame + b"1-0:1.7.0(00.244*kW)") == {
        "energy": 4.426,
        "power": 0.244,
        "serial": "4B38",
    }
    # the line must start with the OBIS code: a value quoted mid-line doesn't count
    assert refused(BLOCK, b"x 1-0:1.8.1(1*kWh)\n0-0:96.1.1(AA)").field == "energy"
    assert refused(BLOCK, frame.replace(b"(4B38)", b"()")).field == "serial"  # empty: required


REGEX_RECORDS = build(
    format="regex",
    records=[
        {"name": "t", "pattern": r"T=(?P<t>\S+)", "fields": [{"name": "t"}]},
        {"name": "both", "pattern": r"T=(?P<t>\S+) H=(?P<h>\S+)", "fields": [{"name": "h"}]},
        {
            "name": "h",
            "pattern": r"H=(?P<h>\S+).*",
            "fields": [{"name": "h"}, {"name": "note", "type": "string", "pattern": "#(.*)"}],
        },
    ],
)


def test_regex_records_the_first_whose_pattern_matches_wins() -> None:
    assert REGEX_RECORDS.decode(b"T=21.5") == {"t": 21.5}
    assert REGEX_RECORDS.decode(b"T=21.5 H=40") == {"h": 40.0}
    assert REGEX_RECORDS.decode(b"H=40 #dry") == {"h": 40.0, "note": "dry"}
    assert refused(REGEX_RECORDS, b"P=1").detail == "no record kind's pattern matches the frame"
    assert refused(REGEX_RECORDS, b"T=warm").field == "t"
    passing = build(format="regex", records=REGEX_RECORDS.decoder.records, unmatched="ignore")
    with pytest.raises(FrameIgnored):
        passing.decode(b"P=1")
    pattern = build(
        format="regex", pattern=r"T=(?P<t>\S+)", fields=[{"name": "t"}], unmatched="ignore"
    )
    with pytest.raises(FrameIgnored):
        pattern.decode(b"H=1")


# ---------------------------------------------------------------- json

JSON = build(
    format="json",
    fields=[
        {"name": "temperature", "path": "sensor.t"},
        {"name": "count", "type": "integer", "path": "n", "required": False},
        {"name": "ok", "type": "boolean", "required": False},
        {"name": "label", "type": "string", "path": "tags.0", "required": False},
        {"name": "mode", "type": "enum", "values": ["eco", "boost"], "required": False},
        {"name": "day", "type": "date", "format": "%Y-%m-%d", "required": False},
        {"name": "relay", "type": "boolean", "lookup": {"ON": True, "1": True}, "required": False},
    ],
)


def test_json_fields_at_their_paths() -> None:
    payload = (
        b'{"sensor":{"t":21},"n":3.0,"ok":false,"tags":["north","x"],"mode":"eco",'
        b'"day":"2026-12-05","relay":"ON","extra":[1,2]}'
    )
    values = JSON.decode(payload)
    assert values == {
        "temperature": 21.0,
        "count": 3,
        "ok": False,
        "label": "north",
        "mode": "eco",
        "day": "2026-12-05",
        "relay": True,
    }
    assert type(values["temperature"]) is float and type(values["count"]) is int
    assert JSON.decode(b'{"sensor":{"t":1},"n":null,"tags":[],"mode":"","relay":1}') == {
        "temperature": 1.0,
        "relay": True,
    }


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (b'{"sensor":{"t":true}}', "temperature", "undecodable"),
        (b'{"sensor":{"t":"21"}}', "temperature", "undecodable"),
        (b'{"sensor":{"t":[21]}}', "temperature", "undecodable"),
        (b'{"sensor":{"t":1e999}}', None, "undecodable"),  # not finite: msgspec refuses it
        (b'{"sensor":{"t":1' + b"0" * 400 + b"}}", "temperature", "undecodable"),
        (b'{"sensor":{"t":1},"n":1.5}', "count", "undecodable"),
        (b'{"sensor":{"t":1},"n":true}', "count", "undecodable"),
        (b'{"sensor":{"t":1},"ok":1}', "ok", "undecodable"),
        (b'{"sensor":{"t":1},"tags":[7]}', "label", "undecodable"),
        (b'{"sensor":{"t":1},"mode":"off"}', "mode", "out-of-range"),
        (b'{"sensor":{"t":1},"day":"05.12.2026"}', "day", "undecodable"),
        (b'{"sensor":{"t":1},"relay":{"a":1}}', "relay", "undecodable"),
        (b'{"sensor":{"t":1},"relay":"OFF"}', "relay", "out-of-range"),
        (b'{"sensor":{}}', "temperature", "undecodable"),
        (b'{"sensor":{"t":NaN}}', None, "undecodable"),
        (b'{"sensor":{"t":"\xff"}}', None, "undecodable"),
        (b"[" * 5000 + b"]" * 5000, None, "undecodable"),
        (b"[1]", "temperature", "undecodable"),
        (b'{"sensor":{"t":1}} x', None, "undecodable"),
    ],
)
def test_json_of_the_wrong_type_or_no_json_is_refused(
    payload: bytes, field: str | None, reason: str
) -> None:
    assert refused(JSON, payload, reason).field == field


# ---------------------------------------------------------------- the binary hook


def test_format_binary_hands_the_checked_body_to_the_layout_hook() -> None:
    seen: list[tuple[list[str], str]] = []

    def layouts(layout: Sequence[BinaryField], path: str) -> LayoutDecoder:
        seen.append(([field.name for field in layout], path))
        return lambda body: {"value": struct.unpack("<h", body)[0]}

    spec = msgspec.convert(
        {
            "format": "binary",
            "checksum": {"algorithm": "sum8", "encoding": "big-endian"},
            "layout": [{"name": "value", "type": "int16"}],
        },
        TextDecoder,
    )
    decoder = TextFrameDecoder(spec, binary=layouts)
    body = struct.pack("<h", -2)
    assert decoder.decode(body + bytes([sum(body) % 256])) == {"value": -2}
    assert seen[-1] == (["value"], "decoder.layout")
    assert refused(decoder, body + b"\x00", "checksum").value == "00"
    with pytest.raises(SpecError) as caught:
        TextFrameDecoder(spec)
    assert caught.value.path == "decoder.format"


# ---------------------------------------------------------------- fuzzing

FUZZED = [PROBE, POSITION, RECORDS, FIELD_CHECKSUM, METER, BLOCK, REGEX_RECORDS, JSON]
TEXTISH = st.text(alphabet='0123456789.,;:-+eE TRSHNW#*$()=\r\n"{}[]atfonulx\xe9', max_size=40)


@given(st.sampled_from(FUZZED), st.binary(max_size=64) | TEXTISH.map(str.encode))
def test_decoding_any_bytes_raises_only_report_rejected(
    decoder: TextFrameDecoder, frame: bytes
) -> None:
    try:
        values = decoder.decode(frame)
    except ReportRejected as error:
        assert error.reason in ("checksum", "undecodable", "out-of-range")
    else:
        assert all(isinstance(value, bool | int | float | str) for value in values.values())
