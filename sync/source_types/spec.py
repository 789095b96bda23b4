"""The data-source type language: one typed description of everything about a device's data.

A type says how its devices are read (a Modbus register map and the
device's request limits, BLE characteristics, serial framing, the MQTT
payload), how each value decodes and is checked (field types, byte orders,
conversions, checksums, "value not known" codes) and what each field means
(unit, valid range). A gateway.toml device section only binds a source to
where it is and how often to read it; everything else comes from here,
through the cloud's signed registry.

These are msgspec structs (msgspec.org): one definition gives the strict
parser (unknown keys refused, each error naming its JSON path), the JSON
Schema the cloud serves and puts in its OpenAPI document, and the typed
objects both interpreters read (:mod:`edgeward.sync.source_types.binary`,
:mod:`~edgeward.sync.source_types.text`). Rules that span several keys
(overlapping registers, a checksum in a field that does not exist, an
example that does not decode) are in :mod:`edgeward.sync.source_types.checks`.

Struct fields are documented by ``Meta(description=...)`` because those
descriptions are the reference the JSON Schema carries to installers.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
Identifier = Annotated[
    str,
    Meta(pattern=IDENTIFIER_PATTERN, description="1-128 chars of A-Z a-z 0-9 . _ : -"),
]
# 16-bit ("2a6e"), 32-bit or 128-bit UUIDs, as the Bluetooth SIG and BlueZ write them.
Uuid = Annotated[
    str,
    Meta(
        pattern=r"^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12})$",
        description="a 16-bit (2a6e), 32-bit or 128-bit UUID",
    ),
]
Scalar = bool | int | float | str
Seconds = Annotated[float, Meta(ge=0, le=10)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Every struct of the language refuses keys it does not define."""


# ---------------------------------------------------------------- conversions


class BitField(Strict, kw_only=True, frozen=True):
    """A named part of an integer value: one bit gives a boolean, several an integer."""

    name: Identifier
    bit: Annotated[int, Meta(ge=0, le=63, description="lowest bit, 0 = least significant")]
    width: Annotated[int, Meta(ge=1, le=64, description="bits; 1 gives true/false")] = 1


class Conversions(Strict, kw_only=True, frozen=True):
    """How a raw value becomes the stored one, applied in this order:
    ``unknown`` (absent), ``lookup`` (replaces), then ``value = raw * scale + offset``."""

    scale: Annotated[float, Meta(description="multiplied first (0.01: hundredths)")] = 1.0
    offset: Annotated[float, Meta(description="added after scale")] = 0.0
    unknown: Annotated[
        list[Scalar],
        Meta(description="raw values that mean 'not known': the field is absent, not refused"),
    ] = []
    lookup: Annotated[
        dict[str, Scalar] | None,
        Meta(description="raw value (as text) to stored value; a raw value not listed is refused"),
    ] = None
    bits: Annotated[
        list[BitField],
        Meta(description="integer fields: named bits or bit ranges, stored beside the value"),
    ] = []


# ---------------------------------------------------------------- binary values

ByteOrder = Annotated[
    Literal["ABCD", "CDAB", "BADC", "DCBA"],
    Meta(
        description="A is the most significant byte: ABCD big-endian, DCBA little-endian, "
        "CDAB 16-bit words swapped (low word first), BADC bytes swapped in each word"
    ),
]
BinaryType = Literal[
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int24",
    "uint24",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "medfloat16",
    "medfloat32",
    "bool",
    "string",
]
RegisterType = Literal[
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
    "bool",
]
RegisterTable = Literal["holding", "input", "coil", "discrete_input"]


class Presence(Strict, kw_only=True, frozen=True):
    """A field present only when a bit of an earlier (flags) field is set, or clear."""

    field: Identifier
    bit: Annotated[int, Meta(ge=0, le=63)]
    set: bool = True


class BinaryField(Conversions, kw_only=True, frozen=True):
    """One value in a binary frame (a GATT characteristic value, a binary serial frame).

    ``medfloat16`` and ``medfloat32`` are IEEE 11073-20601 SFLOAT and FLOAT;
    their NaN, NRes and infinity codes give an absent value.
    """

    name: Identifier
    type: BinaryType
    at: (
        Annotated[
            int,
            Meta(
                ge=0, le=511, description="byte position; default: right after the previous field"
            ),
        ]
        | None
    ) = None
    order: ByteOrder | None = None  # None: the transport's (little-endian for BLE)
    length: (
        Annotated[int, Meta(ge=1, le=512, description="string bytes; default: the rest")] | None
    ) = None
    when: Presence | None = None


# ---------------------------------------------------------------- Modbus


class Register(Conversions, kw_only=True, frozen=True):
    """One value in a Modbus device's registers."""

    name: Identifier
    address: Annotated[int, Meta(ge=0, le=65535, description="0-based register address")]
    type: RegisterType
    table: RegisterTable = "holding"
    order: ByteOrder = "ABCD"
    count: (
        Annotated[int, Meta(ge=1, le=125, description="string fields: registers of text")] | None
    ) = None


class ModbusRequests(Strict, kw_only=True, frozen=True):
    """What the device accepts: many meters refuse long reads or reads across
    registers they do not define."""

    max_registers: Annotated[int, Meta(ge=1, le=125, description="registers per request")] = 125
    max_bits: Annotated[int, Meta(ge=1, le=2000, description="coils per request")] = 2000
    max_gap: Annotated[
        int,
        Meta(
            ge=0,
            le=124,
            description="unused registers a request may span between two fields; "
            "0: gaps are never read across",
        ),
    ] = 8
    pause: Annotated[Seconds, Meta(description="seconds between two requests")] = 0.0


class ModbusDecoder(Strict, kw_only=True, frozen=True):
    registers: Annotated[list[Register], Meta(min_length=1, max_length=1000)]
    requests: ModbusRequests = ModbusRequests()


# ---------------------------------------------------------------- BLE


class Characteristic(Strict, kw_only=True, frozen=True):
    """A GATT characteristic; a standard one (GATT Specification Supplement) needs no layout."""

    uuid: Uuid
    mode: Literal["notify", "read"] = "notify"
    layout: Annotated[
        list[BinaryField] | None,
        Meta(description="the value's fields; omitted: the Bluetooth SIG's format for the UUID"),
    ] = None


class BleDecoder(Strict, kw_only=True, frozen=True):
    service: Annotated[Uuid | None, Meta(description="the service the device advertises")] = None
    characteristics: Annotated[list[Characteristic], Meta(min_length=1, max_length=64)]


# ---------------------------------------------------------------- text


TextType = Literal["string", "enum", "integer", "float", "boolean", "time", "date"]


class TextField(Conversions, kw_only=True, frozen=True):
    """One value in a text frame or a JSON payload.

    ``time`` and ``date`` are stored as ISO 8601 text (``12:35:19.5``,
    ``2026-12-05``), parsed with ``format`` (strptime); ``time`` without a
    format reads ``hhmmss`` with optional fractions. ``boolean`` reads
    1/0, true/false, on/off, yes/no unless a ``lookup`` says otherwise.
    """

    name: Identifier
    type: TextType = "float"
    required: Annotated[bool, Meta(description="false: an empty or missing value is absent")] = True
    emit: Annotated[
        bool, Meta(description="false: read for other fields (a hemisphere), not stored")
    ] = True
    at: (
        Annotated[
            int, Meta(ge=0, le=255, description="delimited: 0-based position; default: the next")
        ]
        | None
    ) = None
    path: Annotated[
        str | None, Meta(description="json: dotted path in the payload; default: the name")
    ] = None
    group: Annotated[str | None, Meta(description="regex: the named group; default: the name")] = (
        None
    )
    pattern: Annotated[
        str | None,
        Meta(description="regex: this field's own pattern (its first group), searched per frame"),
    ] = None
    values: Annotated[list[str] | None, Meta(description="enum: the values allowed")] = None
    format: Annotated[str | None, Meta(description="time and date: a strptime format")] = None
    convert: Annotated[
        Literal["degrees-minutes"] | None,
        Meta(description="degrees-minutes: (d)ddmm.mmmm to decimal degrees"),
    ] = None
    hemisphere: Annotated[
        Identifier | None,
        Meta(description="degrees-minutes: the field holding N, S, E or W (S and W negative)"),
    ] = None


ChecksumAlgorithm = Literal[
    "xor8",
    "sum8",
    "crc16-modbus",
    "crc16-ccitt",
    "crc16-kermit",
    "crc16-xmodem",
    "crc16-arc",
    "crc32",
]


class Checksum(Strict, kw_only=True, frozen=True):
    """A checksum checked before a frame is parsed; a frame that fails is refused
    as ``checksum``.

    It sits after ``marker`` (hex text: NMEA's ``*HH``, a block's ``!CRC``),
    in ``field`` (hex text in that delimited field, covering the frame
    before it) or, without either, in the frame's last bytes.
    ``crc16-ccitt`` is CRC-16/CCITT-FALSE (init 0xFFFF).
    """

    algorithm: ChecksumAlgorithm
    encoding: Literal["hex", "big-endian", "little-endian"] = "hex"
    marker: Annotated[str, Meta(min_length=1, max_length=4)] | None = None
    field: Identifier | None = None
    covers_marker: Annotated[bool, Meta(description="the marker is covered too")] = False
    skip: Annotated[int, Meta(ge=0, le=16, description="leading bytes not covered (NMEA's $)")] = 0


class Record(Strict, kw_only=True, frozen=True):
    """One kind of frame on a port that carries several (NMEA's GGA and RMC)."""

    name: Identifier
    tag: Annotated[
        str | None,
        Meta(description="delimited: a regular expression the tag field must match whole"),
    ] = None
    pattern: Annotated[
        str | None, Meta(description="regex: this kind's pattern; the first that matches wins")
    ] = None
    fields: Annotated[list[TextField], Meta(min_length=1, max_length=256)]


class TextDecoder(Strict, kw_only=True, frozen=True):
    """How a frame's text (or JSON payload) becomes fields.

    ``delimited`` splits at ``separator``; ``regex`` matches ``pattern``
    (named groups) or each field's own pattern; ``json`` reads each field
    at its path; ``binary`` reads a ``layout``. With ``records``, the field
    at ``tag_at`` (delimited) or the first matching pattern (regex) chooses
    the record kind.
    """

    format: Literal["delimited", "regex", "json", "binary"] = "delimited"
    separator: Annotated[str, Meta(min_length=1, max_length=8)] = ","
    pattern: str | None = None
    tag_at: Annotated[int, Meta(ge=0, le=255)] = 0
    checksum: Checksum | None = None
    fields: Annotated[list[TextField], Meta(max_length=256)] = []
    records: Annotated[list[Record], Meta(max_length=64)] = []
    unmatched: Annotated[
        Literal["refuse", "ignore"],
        Meta(
            description="a frame no record kind (or pattern) matches: refused as undecodable, "
            "or passed over (counted as ignored, no security event)"
        ),
    ] = "refuse"
    layout: Annotated[list[BinaryField], Meta(max_length=256)] = []


# ---------------------------------------------------------------- serial framing


class LineFraming(Strict, tag="line", tag_field="kind", kw_only=True, frozen=True):
    delimiter: Annotated[str, Meta(min_length=1, max_length=8)] = "\n"
    max_length: Annotated[int, Meta(ge=1, le=65535)] = 1024


class StxEtxFraming(Strict, tag="stx-etx", tag_field="kind", kw_only=True, frozen=True):
    """``STX payload ETX [check]``, the check over payload and ETX (ISO 1745 BCC)."""

    check: Literal["xor", "sum", "none"] = "xor"
    max_length: Annotated[int, Meta(ge=1, le=65535)] = 1024


class LengthPrefixedFraming(
    Strict, tag="length-prefixed", tag_field="kind", kw_only=True, frozen=True
):
    length_size: Literal[1, 2] = 1
    max_length: Annotated[int, Meta(ge=1, le=65535)] = 255


class BlockFraming(Strict, tag="block", tag_field="kind", kw_only=True, frozen=True):
    """Several lines make one frame, up to and including a line matching ``end``."""

    end: Annotated[str, Meta(min_length=1, description="a regular expression for the last line")]
    start: Annotated[
        str | None,
        Meta(description="a regular expression for the first line; lines before it are dropped"),
    ] = None
    delimiter: Annotated[str, Meta(min_length=1, max_length=8)] = "\n"
    max_length: Annotated[int, Meta(ge=1, le=65535)] = 4096


Framing = LineFraming | StxEtxFraming | LengthPrefixedFraming | BlockFraming


class SerialDecoder(TextDecoder, kw_only=True, frozen=True):
    framing: Framing = LineFraming()
    request: (
        Annotated[
            str, Meta(max_length=256, description="sent every poll by a device that only answers")
        ]
        | None
    ) = None


class MqttDecoder(TextDecoder, kw_only=True, frozen=True):
    format: Literal["delimited", "regex", "json", "binary"] = "json"


# ---------------------------------------------------------------- the type


class FieldMeta(Strict, kw_only=True, frozen=True):
    """What a decoded field means: its unit and the range a valid value lies in."""

    unit: Annotated[str, Meta(max_length=32)] | None = None
    min: float | None = None
    max: float | None = None
    description: Annotated[str, Meta(max_length=500)] | None = None


class Example(Strict, kw_only=True, frozen=True):
    """A frame and what it decodes to; the cloud decodes every example when the
    type is created, so a type that can't read its own example is refused."""

    text: Annotated[str | None, Meta(description="a text frame or payload")] = None
    hex: Annotated[str | None, Meta(description="a binary frame or value, in hex")] = None
    characteristic: Annotated[Uuid | None, Meta(description="BLE: which characteristic")] = None
    values: Annotated[
        dict[str, Scalar] | None, Meta(description="what it must decode to, exactly")
    ] = None
    refused: Annotated[
        Literal["checksum", "undecodable", "out-of-range"] | None,
        Meta(description="instead of values: the reason it must be refused"),
    ] = None
    ignored: Annotated[
        bool,
        Meta(description="instead of values: a frame the type passes over (unmatched: ignore)"),
    ] = False


AuthMode = Literal["bound", "hmac", "ed25519", "sealed"]


class TypeBase(Strict, tag_field="transport", kw_only=True, frozen=True):
    auth_mode: AuthMode
    sealed_for: Literal["gateway", "cloud"] | None = None
    fields: dict[str, FieldMeta] = {}
    examples: Annotated[list[Example], Meta(max_length=32)] = []


class ModbusType(TypeBase, tag="modbus", kw_only=True, frozen=True):
    decoder: ModbusDecoder


class SerialType(TypeBase, tag="serial", kw_only=True, frozen=True):
    decoder: SerialDecoder


class BleType(TypeBase, tag="ble", kw_only=True, frozen=True):
    decoder: BleDecoder


class MqttType(TypeBase, tag="mqtt", kw_only=True, frozen=True):
    decoder: MqttDecoder


TypeSpec = ModbusType | SerialType | BleType | MqttType
