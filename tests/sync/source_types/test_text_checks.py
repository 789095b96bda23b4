"""check_text: every decoder that can't be read whole is refused, by the key at fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.spec import BinaryField, SerialDecoder, TextDecoder
from edgeward.sync.source_types.text import LayoutDecoder, TextFrameDecoder, check_text
from edgeward.sync.source_types.text_checks import positions

F = {"name": "v"}  # the plainest field


def spec_error(decoder_type: type[TextDecoder] = TextDecoder, **keys: Any) -> SpecError:
    decoder = msgspec.convert(keys, decoder_type)
    with pytest.raises(SpecError) as caught:
        check_text(decoder, "decoder")
    return caught.value


def record(name: str = "r", **keys: Any) -> dict[str, Any]:
    return {"name": name, "fields": [F], **keys}


REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    # fields and records
    ({"fields": [F], "records": [record(tag="x")]}, "records", "both"),
    ({}, "fields", "no fields and no records"),
    ({"format": "json", "records": [record()]}, "records", "not record kinds"),
    ({"layout": [{"name": "x", "type": "uint8"}], "fields": [F]}, "layout", "format binary"),
    # keys of another format
    ({"fields": [{"name": "v", "path": "a.b"}]}, "fields[0].path", "json"),
    (
        {"format": "regex", "pattern": "(?P<v>.)", "fields": [{"name": "v", "at": 1}]},
        "fields[0].at",
        "delimited",
    ),
    ({"format": "json", "fields": [{"name": "v", "group": "g"}]}, "fields[0].group", "regex"),
    ({"fields": [{"name": "v", "pattern": "(.)"}]}, "fields[0].pattern", "regex"),
    ({"pattern": "(?P<v>.)", "fields": [F]}, "pattern", "regex"),
    (
        {"format": "regex", "records": [record(tag="x", pattern="(?P<v>.)")]},
        "records[0].tag",
        "delimited",
    ),
    ({"records": [record(tag="x", pattern="x")]}, "records[0].pattern", "regex"),
    ({"records": [record()]}, "records[0].tag", "needs the tag"),
    (
        {
            "format": "regex",
            "records": [{"name": "r", "fields": [{"name": "v", "pattern": "(.)"}]}],
        },
        "records[0].pattern",
        "needs the pattern",
    ),
    (
        {"format": "regex", "pattern": "(?P<v>.)", "records": [record(pattern="(?P<v>.)")]},
        "pattern",
        "own pattern",
    ),
    # regular expressions
    ({"format": "regex", "pattern": "(", "fields": [F]}, "pattern", "not a regular expression"),
    (
        {"format": "regex", "fields": [{"name": "v", "pattern": "[a-"}]},
        "fields[0].pattern",
        "not a regular expression",
    ),
    ({"records": [record(tag="(?P<")]}, "records[0].tag", "not a regular expression"),
    (
        {"format": "regex", "records": [record(pattern="a{2,1}")]},
        "records[0].pattern",
        "not a regular expression",
    ),
    (
        {"format": "regex", "fields": [{"name": "v", "pattern": "v=\\d+"}]},
        "fields[0].pattern",
        "needs a group",
    ),
    ({"format": "regex", "fields": [F]}, "fields[0].pattern", "no pattern to read from"),
    (
        {"format": "regex", "pattern": "(?P<w>.)", "fields": [F]},
        "fields[0].group",
        "no group named 'v'",
    ),
    (
        {"format": "regex", "pattern": "(?P<v>.)", "fields": [{"name": "v", "group": "w"}]},
        "fields[0].group",
        "no group named 'w'",
    ),
    (
        {"format": "regex", "records": [record(pattern="(?P<w>.)")]},
        "records[0].fields[0].group",
        "no group named 'v'",
    ),
    (
        {"format": "regex", "fields": [{"name": "v", "group": "v", "pattern": "(.)"}]},
        "fields[0].group",
        "first group",
    ),
    # types
    ({"fields": [{"name": "v", "type": "enum"}]}, "fields[0].values", "needs its values"),
    (
        {"fields": [{"name": "v", "type": "enum", "values": []}]},
        "fields[0].values",
        "needs its values",
    ),
    (
        {"fields": [{"name": "v", "type": "string", "values": ["a"]}]},
        "fields[0].values",
        "for an enum",
    ),
    (
        {"fields": [{"name": "v", "type": "integer", "format": "%H"}]},
        "fields[0].format",
        "time or a date",
    ),
    ({"fields": [{"name": "v", "type": "date", "format": "%Q"}]}, "fields[0].format", "strptime"),
    ({"fields": [{"name": "v", "type": "time", "format": "%H%"}]}, "fields[0].format", "strptime"),
    ({"fields": [{"name": "v", "type": "date", "format": "%G"}]}, "fields[0].format", "strptime"),
    ({"fields": [{"name": "v", "type": "time", "format": "%s"}]}, "fields[0].format", "strptime"),
    ({"fields": [{"name": "v", "type": "date"}]}, "fields[0].format", "needs its strptime format"),
    (
        {"fields": [{"name": "v", "type": "integer", "convert": "degrees-minutes"}]},
        "fields[0].convert",
        "gives a float",
    ),
    # hemispheres
    (
        {"fields": [{"name": "v", "hemisphere": "h"}, {"name": "h", "type": "string"}]},
        "fields[0].hemisphere",
        "needs convert",
    ),
    (
        {"fields": [{"name": "v", "convert": "degrees-minutes", "hemisphere": "h"}]},
        "fields[0].hemisphere",
        "no other field named 'h'",
    ),
    (
        {"fields": [{"name": "v", "convert": "degrees-minutes", "hemisphere": "v"}]},
        "fields[0].hemisphere",
        "no other field",
    ),
    (
        {
            "records": [
                {"name": "a", "tag": "A", "fields": [{"name": "h", "type": "string"}]},
                {
                    "name": "b",
                    "tag": "B",
                    "fields": [F, {"name": "lat", "convert": "degrees-minutes", "hemisphere": "h"}],
                },
            ]
        },
        "records[1].fields[1].hemisphere",
        "no other field named 'h'",
    ),
    # conversions a type can't take
    ({"fields": [{"name": "v", "bits": [{"name": "b", "bit": 0}]}]}, "fields[0].bits", "integer"),
    ({"fields": [{"name": "v", "lookup": {"1": 2}}]}, "fields[0].lookup", "can't read a float"),
    ({"fields": [{"name": "v", "type": "time", "lookup": {"1": 2}}]}, "fields[0].lookup", "time"),
    ({"fields": [{"name": "v", "type": "string", "scale": 2}]}, "fields[0].scale", "numbers"),
    ({"fields": [{"name": "v", "type": "boolean", "offset": 1}]}, "fields[0].offset", "numbers"),
    # names
    ({"fields": [F, F]}, "fields[1].name", "a second field named 'v'"),
    (
        {
            "fields": [
                {"name": "v", "type": "integer", "bits": [{"name": "w", "bit": 0}]},
                {"name": "w"},
            ]
        },
        "fields[1].name",
        "stored twice",
    ),
    (
        {"fields": [{"name": "v", "type": "integer", "bits": [{"name": "v", "bit": 0}]}]},
        "fields[0].bits[0].name",
        "stored twice",
    ),
    ({"records": [record(tag="a"), record(tag="b")]}, "records[1].name", "a second record"),
    ({"format": "json", "fields": [{"name": "v", "path": "a..b"}]}, "fields[0].path", "empty step"),
    ({"format": "json", "fields": [{"name": "a..b"}]}, "fields[0].path", "empty step"),
    # checksums
    (
        {"checksum": {"algorithm": "xor8", "marker": "*", "field": "v"}, "fields": [F]},
        "checksum.field",
        "not both",
    ),
    ({"checksum": {"algorithm": "xor8"}, "fields": [F]}, "checksum.encoding", "binary"),
    (
        {"checksum": {"algorithm": "xor8", "marker": "*", "encoding": "big-endian"}, "fields": [F]},
        "checksum.encoding",
        "hex text",
    ),
    (
        {"checksum": {"algorithm": "xor8", "field": "cs"}, "fields": [F]},
        "checksum.field",
        "no field named 'cs'",
    ),
    (
        {"checksum": {"algorithm": "xor8", "field": "v"}, "format": "json", "fields": [F]},
        "checksum.field",
        "delimited",
    ),
    (
        {"checksum": {"algorithm": "xor8", "field": "v"}, "fields": [{"name": "x"}, F]},
        "checksum.field",
        "type must be string",
    ),
    (
        {
            "checksum": {"algorithm": "xor8", "field": "v"},
            "fields": [{"name": "v", "type": "string"}],
        },
        "checksum.field",
        "covers nothing",
    ),
    (
        {
            "checksum": {"algorithm": "xor8", "field": "cs"},
            "records": [
                {"name": "a", "tag": "A", "fields": [F, {"name": "cs", "type": "string"}]},
                {"name": "b", "tag": "B", "fields": [F]},
            ],
        },
        "checksum.field",
        "no field named 'cs' in record 'b'",
    ),
    # binary
    ({"format": "binary", "fields": [F]}, "fields", "layout, not fields"),
    ({"format": "binary", "records": [record(tag="x")]}, "records", "layout, not records"),
    ({"format": "binary"}, "layout", "needs a layout"),
    ({"format": "binary", "layout": [{"name": "x", "type": "uint8"}]}, "format", "not wired"),
]


@pytest.mark.parametrize(("keys", "path", "words"), REFUSALS)
def test_each_refusal_names_its_key(keys: dict[str, Any], path: str, words: str) -> None:
    error = spec_error(**keys)
    assert error.path == f"decoder.{path}", error
    assert words in error.message, error.message
    with pytest.raises(SpecError):  # and the decoder can't be built from it either
        TextFrameDecoder(msgspec.convert(keys, TextDecoder))


def test_block_framing_regexes_are_checked_with_the_decoder() -> None:
    framing = {"kind": "block", "start": "/", "end": "("}
    error = spec_error(SerialDecoder, fields=[F], framing=framing)
    assert error.path == "decoder.framing.end"
    error = spec_error(
        SerialDecoder, fields=[F], framing={"kind": "block", "start": "[", "end": "!"}
    )
    assert error.path == "decoder.framing.start"


def test_good_decoders_of_every_format_pass() -> None:
    for keys in (
        {
            "fields": [F, {"name": "cs", "type": "string"}],
            "checksum": {"algorithm": "crc32", "field": "cs"},
        },
        {"format": "regex", "pattern": "(?P<v>.*)", "fields": [F]},
        {"format": "regex", "fields": [{"name": "v", "pattern": "^v=(.*)"}]},
        {"format": "json", "fields": [{"name": "v", "path": "a.0.b"}]},
        {
            "fields": [
                {"name": "d", "type": "date", "format": "%d%m%y"},
                {"name": "t", "type": "time", "format": "%H:%M:%S%z"},
            ]
        },
    ):
        check_text(msgspec.convert(keys, TextDecoder), "decoder")


def test_default_positions_follow_the_previous_field_and_skip_the_tag() -> None:
    fields = msgspec.convert(
        {
            "fields": [
                {"name": "a"},
                {"name": "b", "at": 4},
                {"name": "c"},
                {"name": "d", "at": 0},
                {"name": "e"},
            ]
        },
        TextDecoder,
    ).fields
    assert positions(fields, None) == [0, 4, 5, 0, 1]
    assert positions(fields, 0) == [1, 4, 5, 0, 1]
    assert positions(fields, 5) == [0, 4, 6, 0, 1]


# ---------------------------------------------------------------- fuzzing

NAMES = st.sampled_from(["v", "w", "h", "cs", "a.b"])
REGEXES = st.sampled_from(
    [
        "(?P<v>.*)",
        "(?P<v>\\w*),(?P<w>\\d*),?(?P<h>[NS]?)(?P<cs>.*)",
        "(?P<w>\\d+),(?P<h>[NS])",
        "^v=(.*)",
        "(",
        "[",
        "a{2,1}",
        "x",
        "(?P<v>",
    ]
) | st.text(max_size=6)
FORMATS = st.sampled_from(
    ["%H%M%S", "%d%m%y", "%Y-%m-%dT%H:%M:%S%z", "%Q", "%", "%G", "%s"]
) | st.text(max_size=5)
SCALARS = st.one_of(st.booleans(), st.integers(-5, 5), st.floats(-10, 10), st.text(max_size=3))
BASE_KEYS: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["string", "enum", "integer", "float", "boolean", "time", "date"]),
    "required": st.booleans(),
    "emit": st.booleans(),
    "values": st.lists(st.text(max_size=3), max_size=3),
    "format": FORMATS,
    "convert": st.just("degrees-minutes"),
    "hemisphere": NAMES,
    "scale": st.floats(-100, 100),
    "offset": st.floats(-100, 100),
    "unknown": st.lists(SCALARS, max_size=2),
    "lookup": st.dictionaries(st.text(max_size=3), SCALARS, max_size=3),
    "bits": st.lists(
        st.fixed_dictionaries(
            {"name": NAMES, "bit": st.integers(0, 63), "width": st.integers(1, 64)}
        ),
        max_size=2,
    ),
}
FORMAT_KEYS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "delimited": {"at": st.integers(0, 6)},
    "regex": {
        "group": NAMES,
        "pattern": st.sampled_from(["^v=(.*)", "(\\d+)", "w=(\\S*)"]) | REGEXES,
    },
    "json": {"path": st.sampled_from(["v", "a.b", "a..b", "0", "a.0"])},
    "binary": {},
}


def some_keys(
    draw: st.DrawFn, keys: dict[str, st.SearchStrategy[Any]], chance: int
) -> dict[str, Any]:
    """Each key of ``keys`` with a 1 in ``chance`` probability: deep decoders, not only refusals."""
    return {key: draw(value) for key, value in keys.items() if rarely(draw, chance)}


def rarely(draw: st.DrawFn, chance: int) -> bool:
    """True about once in ``chance``: hypothesis favours small numbers and bounds, so not
    ``integers(0, chance - 1) == 0``."""
    return draw(st.integers(1, 2**16 - 1)) % chance == 0


@st.composite
def fields(draw: st.DrawFn, fmt: str) -> list[dict[str, Any]]:
    """Fields mostly of ``fmt``'s keys; now and then one of another format's."""
    result = []
    for name in draw(st.lists(NAMES, min_size=1, max_size=4, unique=not rarely(draw, 10))):
        field = {
            "name": name,
            **some_keys(draw, BASE_KEYS, 12),
            **some_keys(draw, FORMAT_KEYS[fmt], 2),
        }
        stray = draw(st.sampled_from(sorted(FORMAT_KEYS)))
        field.update(some_keys(draw, FORMAT_KEYS[stray], 12))
        result.append(field)
    return result


@st.composite
def decoders(draw: st.DrawFn) -> dict[str, Any]:
    fmt = draw(st.sampled_from(["delimited", "delimited", "regex", "regex", "json", "binary"]))
    keys: dict[str, Any] = {"format": fmt}
    keys.update(
        some_keys(draw, {"separator": st.sampled_from([";", "::"]), "tag_at": st.integers(0, 3)}, 3)
    )
    if rarely(draw, 3):
        keys["checksum"] = draw(CHECKSUMS)
    if fmt == "regex" and draw(st.booleans()):
        keys["pattern"] = draw(REGEXES)
    if fmt == "binary":
        if not rarely(draw, 10):
            keys["layout"] = [{"name": "x", "type": "uint8"}]
        if not rarely(draw, 10):
            return keys
    elif rarely(draw, 20):
        keys["layout"] = [{"name": "x", "type": "uint8"}]
    records = fmt != "json" and draw(st.booleans())
    if not records or rarely(draw, 20):
        keys["fields"] = draw(fields(fmt))
    if records or rarely(draw, 20):
        keys["records"] = [
            {
                "name": name,
                "fields": draw(fields(fmt)),
                **some_keys(draw, {"tag": REGEXES, "pattern": REGEXES}, 2),
            }
            for name in draw(st.lists(st.sampled_from(["r1", "r2", "r3"]), max_size=3, unique=True))
        ]
    return keys


ALGORITHM = {"algorithm": st.sampled_from(["xor8", "sum8", "crc16-arc", "crc32"])}
SKIP = {"skip": st.integers(0, 3)}
CHECKSUMS = st.one_of(
    st.fixed_dictionaries(
        {**ALGORITHM, "marker": st.sampled_from(["*", "!"])},
        optional={"covers_marker": st.booleans(), **SKIP},
    ),
    st.fixed_dictionaries(
        {**ALGORITHM, "encoding": st.sampled_from(["big-endian", "little-endian"])}, optional=SKIP
    ),
    st.fixed_dictionaries({**ALGORITHM, "field": NAMES}, optional=SKIP),
    st.fixed_dictionaries(  # anything, contradictions included
        ALGORITHM,
        optional={
            "encoding": st.sampled_from(["hex", "big-endian", "little-endian"]),
            "marker": st.sampled_from(["*", "!"]),
            "field": NAMES,
            "covers_marker": st.booleans(),
            **SKIP,
        },
    ),
)
DECODERS = decoders()


def bytes_layout(layout: Sequence[BinaryField], path: str) -> LayoutDecoder:
    """A stand-in for the binary interpreter: the body's length."""
    return lambda body: {"length": len(body)}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(DECODERS, st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_check_text_on_any_valid_decoder_raises_only_spec_error(
    keys: dict[str, Any], frame: bytes
) -> None:
    try:
        decoder = msgspec.convert(keys, TextDecoder)
    except msgspec.ValidationError:
        assume(False)  # raises: hypothesis draws another
        raise
    try:
        check_text(decoder, "decoder", binary=bytes_layout)
    except SpecError as error:
        assert error.path.startswith("decoder")
        return
    # What passes the check builds, and decodes anything with only ReportRejected.
    try:
        TextFrameDecoder(decoder, binary=bytes_layout).decode(frame)
    except ReportRejected as error:
        assert error.reason in ("checksum", "undecodable", "out-of-range")
