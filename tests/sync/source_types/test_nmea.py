"""The built-in NMEA 0183 type: a valid type, its own examples exact, and pynmea2 agreeing."""

from __future__ import annotations

import datetime
from typing import Any

import pynmea2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeward.drivers.serial.framing import LineFramer
from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types import parse_type_spec, spec_document
from edgeward.sync.source_types.checksums import compute
from edgeward.sync.source_types.nmea import NMEA_0183
from edgeward.sync.source_types.spec import Example, LineFraming, SerialType
from edgeward.sync.source_types.text import TextFrameDecoder, check_text


def serial_type(document: dict[str, Any]) -> SerialType:
    spec = parse_type_spec(document)
    assert isinstance(spec, SerialType)
    return spec


SPEC = serial_type(NMEA_0183)
DECODER = TextFrameDecoder(SPEC.decoder)


def test_the_document_is_a_serial_type_that_passes_its_checks() -> None:
    assert (SPEC.auth_mode, SPEC.decoder.format) == ("bound", "delimited")
    assert SPEC.decoder.framing == LineFraming(delimiter="\r\n", max_length=256)
    check_text(SPEC.decoder, "decoder")
    assert parse_type_spec(spec_document(SPEC)) == SPEC  # what the registry signs reads back
    names = {field.name for record in SPEC.decoder.records for field in record.fields if field.emit}
    assert names == set(SPEC.fields)  # every stored field has its meaning and unit


@pytest.mark.parametrize("example", SPEC.examples, ids=lambda e: (e.text or "")[:12])
def test_each_example_decodes_exactly_or_is_refused_as_it_says(example: Example) -> None:
    assert example.text is not None
    if example.ignored:
        with pytest.raises(FrameIgnored):
            DECODER.decode(example.text.encode())
        return
    if example.refused is not None:
        with pytest.raises(ReportRejected) as caught:
            DECODER.decode(example.text.encode())
        assert caught.value.reason == example.refused
        return
    assert DECODER.decode(example.text.encode()) == example.values


@pytest.mark.parametrize("example", [e for e in SPEC.examples if e.values], ids=lambda e: e.text)
def test_pynmea2_reads_the_valid_examples_as_we_do(example: Example) -> None:
    assert example.text is not None and example.values is not None
    oracle = pynmea2.parse(example.text, check=True)
    values = example.values
    if "latitude" in values:
        assert values["latitude"] == pytest.approx(oracle.latitude, abs=5e-8)
        assert values["longitude"] == pytest.approx(oracle.longitude, abs=5e-8)
    if "time" in values:
        assert isinstance(values["time"], str)
        assert datetime.time.fromisoformat(values["time"]) == oracle.timestamp.replace(tzinfo=None)


def test_a_receivers_stream_through_the_line_framer() -> None:
    framing = SPEC.decoder.framing
    assert isinstance(framing, LineFraming)
    framer = LineFramer(framing.delimiter.encode(), framing.max_length)
    good = [e.text for e in SPEC.examples if e.values and e.text]
    stream = ("\r\n".join(good) + "\r\n").encode()
    frames, malformed = framer.feed(b"$GPGGA,1235" + stream)  # opened mid-sentence
    assert malformed == 0 and len(frames) == len(good)
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(frames[0])  # the cut sentence's tail and the first: no checksum holds
    assert caught.value.reason == "checksum"
    assert [DECODER.decode(frame) for frame in frames[1:]] == [
        e.values for e in SPEC.examples if e.values
    ][1:]


# ---------------------------------------------------------------- pynmea2 as the oracle

TALKERS = st.sampled_from(["GP", "GN", "GL", "GA", "GB", "BD"])


def coordinate(degrees: int, minutes: int, width: int) -> str:
    """(d)ddmm.mmmm from whole degrees and ten-thousandths of a minute."""
    return f"{degrees:0{width}d}{minutes // 10000:02d}.{minutes % 10000:04d}"


@st.composite
def positions(draw: st.DrawFn) -> tuple[str, str, str, str]:
    latitude = coordinate(draw(st.integers(0, 89)), draw(st.integers(0, 599999)), 2)
    longitude = coordinate(draw(st.integers(0, 179)), draw(st.integers(0, 599999)), 3)
    return latitude, draw(st.sampled_from("NS")), longitude, draw(st.sampled_from("EW"))


@st.composite
def times(draw: st.DrawFn) -> str:
    hours, minutes, seconds = (
        draw(st.integers(0, 23)),
        draw(st.integers(0, 59)),
        draw(st.integers(0, 59)),
    )
    hundredths = draw(st.integers(0, 99))
    return f"{hours:02d}{minutes:02d}{seconds:02d}.{hundredths:02d}"


def tenths(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n / 10:.1f}")


@st.composite
def gga_sentences(draw: st.DrawFn) -> str:
    fields = (
        draw(times()),
        *draw(positions()),
        str(draw(st.integers(0, 8))),
        f"{draw(st.integers(0, 40)):02d}",
        draw(tenths(5, 999)),
        draw(tenths(-4000, 90000)),
        "M",
        draw(tenths(-999, 999)),
        "M",
        "",
        "",
    )
    return str(pynmea2.GGA(draw(TALKERS), "GGA", fields))


@st.composite
def rmc_sentences(draw: st.DrawFn) -> str:
    day = draw(st.dates(datetime.date(1980, 1, 6), datetime.date(2079, 12, 31)))
    fields = (
        draw(times()),
        draw(st.sampled_from("AV")),
        *draw(positions()),
        draw(tenths(0, 9999)),
        draw(tenths(0, 3599)),
        day.strftime("%d%m%y"),
        draw(tenths(0, 300)),
        draw(st.sampled_from("EW")),
        draw(st.sampled_from("ADEN")),
    )
    return str(pynmea2.RMC(draw(TALKERS), "RMC", fields))


def assert_common(values: dict[str, Any], oracle: Any, sentence: str) -> None:
    assert values["sentence"] == sentence[1:6]
    assert values["latitude"] == pytest.approx(oracle.latitude, abs=5e-8)
    assert values["longitude"] == pytest.approx(oracle.longitude, abs=5e-8)
    assert datetime.time.fromisoformat(values["time"]) == oracle.timestamp.replace(tzinfo=None)


@given(gga_sentences())
def test_gga_agrees_with_pynmea2(sentence: str) -> None:
    oracle = pynmea2.parse(sentence, check=True)
    values = DECODER.decode(sentence.encode())
    assert_common(values, oracle, sentence)
    assert values["fix_quality"] == oracle.gps_qual
    assert values["satellites"] == int(oracle.num_sats)
    assert values["hdop"] == float(oracle.horizontal_dil)
    assert values["altitude"] == oracle.altitude
    assert values["geoid_separation"] == float(oracle.geo_sep)
    assert "dgps_age" not in values and "dgps_station" not in values


@given(rmc_sentences())
def test_rmc_agrees_with_pynmea2(sentence: str) -> None:
    oracle = pynmea2.parse(sentence, check=True)
    values = DECODER.decode(sentence.encode())
    assert_common(values, oracle, sentence)
    assert values["status"] == oracle.status
    assert values["speed_knots"] == oracle.spd_over_grnd
    assert values["course"] == oracle.true_course
    assert values["date"] == oracle.datestamp.isoformat()
    assert values["magnetic_variation"] == float(oracle.mag_variation)
    assert values["magnetic_variation_direction"] == oracle.mag_var_dir
    assert values["mode"] == oracle.mode_indicator


@given(st.one_of(gga_sentences(), rmc_sentences()), st.integers(1, 60), st.integers(0, 255))
def test_a_changed_byte_is_refused_never_misread(sentence: str, index: int, byte: int) -> None:
    data = bytearray(sentence.encode())
    index %= len(data) - 3  # a byte before the checksum digits
    if index == 0 or data[index] == byte or byte in b"*$":
        return
    data[index] = byte
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(bytes(data))
    assert caught.value.reason == "checksum"  # XOR catches every single changed byte


@pytest.mark.parametrize(
    "sentence",
    [
        "$GPTXT,01,01,02,ANTSTATUS=OK",
        "$GPZDA,201530.00,04,07,2002,00,00",
        "$PGRME,15.0,M,45.0,M,25.0,M",
        "$GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,",
    ],
)
def test_sentences_no_record_reads_are_passed_over_not_refused(sentence: str) -> None:
    body = sentence[1:].encode()
    framed = sentence.encode() + b"*" + xor_hex(body)
    with pytest.raises(FrameIgnored):
        DECODER.decode(framed)


def test_a_passed_over_sentence_with_a_wrong_checksum_is_still_refused() -> None:
    body = b"GPTXT,01,01,02,ANTSTATUS=OK"
    with pytest.raises(ReportRejected) as caught:
        DECODER.decode(b"$" + body + b"*" + b"%02X" % (int(xor_hex(body), 16) ^ 1))
    assert caught.value.reason == "checksum"


def xor_hex(body: bytes) -> bytes:
    return b"%02X" % compute("xor8", body)
