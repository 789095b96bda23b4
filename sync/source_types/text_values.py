"""One text field's value: from its text (or JSON value) to the raw value its conversions take.

A field's type says what its text must look like; anything else is refused
as ``undecodable`` naming the field and its text, so a garbled frame whose
checksum happened to hold never stores a wrong number:

- ``integer``: ASCII digits with an optional sign (not Python's ``int()``,
  which also takes ``1_000`` and other scripts' digits);
- ``float``: a decimal number with an optional exponent; never NaN or infinity;
- ``boolean``: 1/0, true/false, on/off, yes/no in any case, unless the
  field has a ``lookup``, which then reads the text itself;
- ``enum``: one of ``values`` exactly (another value is ``out-of-range``,
  like a raw value a lookup does not list);
- ``time``: ``hhmmss`` with an optional fraction (NMEA 0183's UTC time),
  stored as ISO 8601 ``HH:MM:SS`` with the fraction's significant digits
  (``123519.50`` is ``12:35:19.5``); with ``format``, strptime then
  isoformat (a date and time when the format has date directives);
- ``date``: strptime ``format``, stored as ``YYYY-MM-DD``.

``convert = "degrees-minutes"`` reads NMEA's ``(d)ddmm.mmmm`` into decimal
degrees rounded to 7 places (about 1 cm), the sign coming from the
``hemisphere`` field (:func:`hemisphere_sign`).

JSON values must already have the field's type (RFC 8259 numbers for
integer and float, never booleans; a JSON boolean for boolean; strings for
string, enum, time and date).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime

from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.conversions import Value
from edgeward.sync.source_types.spec import TextField

TextParser = Callable[[str], Value]
JsonParser = Callable[[object], Value]

_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {
    "1": True,
    "true": True,
    "on": True,
    "yes": True,
    "0": False,
    "false": False,
    "off": False,
    "no": False,
}
_HHMMSS = re.compile(r"([01][0-9]|2[0-3])([0-5][0-9])([0-5][0-9]|60)(?:\.([0-9]{1,9}))?")
_DEGREES_MINUTES = re.compile(r"([0-9]{1,3})([0-5][0-9](?:\.[0-9]*)?)")
_SIGNS = {"N": 1, "E": 1, "S": -1, "W": -1}
# strptime directives that carry a date: a time field with one of these is a timestamp.
_DATE_DIRECTIVES = frozenset("aAbBcdGjmuUVwWxyY")
DEGREE_PLACES = 7


def undecodable(field: str, message: str, text: object) -> ReportRejected:
    return ReportRejected("undecodable", f"field {field!r}: {message}", field=field, value=text)


def text_parser(field: TextField) -> TextParser:
    """The function reading ``field``'s (stripped, non-empty) text into its raw value."""
    name = field.name
    if field.convert == "degrees-minutes":
        return lambda text: degrees_minutes(name, text)
    if field.type == "integer":
        return lambda text: _integer(name, text)
    if field.type == "float":
        return lambda text: _float(name, text)
    if field.type == "boolean" and field.lookup is None:
        return lambda text: _boolean(name, text)
    if field.type == "enum":
        allowed = frozenset(field.values or ())
        return lambda text: _enum(name, text, allowed)
    if field.type == "time":
        fmt = field.format
        return (lambda text: _hhmmss(name, text)) if fmt is None else _strptime(name, fmt, True)
    if field.type == "date":
        return _strptime(name, field.format or "%Y-%m-%d", False)
    return lambda text: text  # string, and a boolean its lookup reads


def json_parser(field: TextField) -> JsonParser:
    """The function reading ``field``'s JSON value (not null) into its raw value."""
    name = field.name
    from_text = text_parser(field)
    if field.convert == "degrees-minutes":
        return lambda value: from_text(repr(_json_number(name, value)))
    if field.lookup is not None and field.type != "enum":
        return lambda value: _lookup_key(name, value)
    if field.type == "integer":
        return lambda value: _json_integer(name, value)
    if field.type == "float":
        return lambda value: _json_float(name, value)
    if field.type == "boolean":
        return lambda value: _json_boolean(name, value)
    return lambda value: from_text(_string(name, value))


def hemisphere_sign(field: str, hemisphere: str, raw: object) -> int:
    """+1 for N and E, -1 for S and W (``raw``: field ``hemisphere``'s text or JSON value)."""
    sign = _SIGNS.get(raw) if isinstance(raw, str) else None
    if sign is None:
        raise undecodable(hemisphere, f"{field!r} needs N, S, E or W here", raw)
    return sign


def degrees_minutes(name: str, text: str) -> float:
    """``4807.038`` (48 degrees, 7.038 minutes) -> 48.1173, as NMEA 0183 writes positions."""
    match = _DEGREES_MINUTES.fullmatch(text)
    if match is None:
        raise undecodable(name, "not (d)ddmm.mmmm degrees and minutes", text)
    degrees, minutes = match.groups()
    return round(int(degrees) + float(minutes) / 60, DEGREE_PLACES)


def _integer(name: str, text: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise undecodable(name, "not an integer", text)
    try:
        return int(text)
    except ValueError:  # beyond int()'s digit limit (CPython gh-95778)
        raise undecodable(name, "an integer too long to read", text) from None


def _float(name: str, text: str) -> float:
    if _FLOAT.fullmatch(text) is None:
        raise undecodable(name, "not a decimal number", text)
    number = float(text)
    if not math.isfinite(number):
        raise undecodable(name, "not a finite number", text)
    return number


def _boolean(name: str, text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise undecodable(name, "not a boolean (1/0, true/false, on/off, yes/no)", text)
    return value


def _enum(name: str, text: str, allowed: frozenset[str]) -> str:
    if text not in allowed:
        raise ReportRejected(
            "out-of-range", f"field {name!r}: not one of its values", field=name, value=text
        )
    return text


def _hhmmss(name: str, text: str) -> str:
    match = _HHMMSS.fullmatch(text)
    if match is None:
        raise undecodable(name, "not an hhmmss[.ss] time", text)
    hours, minutes, seconds, fraction = match.groups()
    fraction = (fraction or "").rstrip("0")
    return f"{hours}:{minutes}:{seconds}" + (f".{fraction}" if fraction else "")


def _strptime(name: str, fmt: str, is_time: bool) -> TextParser:
    has_date = any(f"%{directive}" in fmt for directive in _DATE_DIRECTIVES)

    def parse(text: str) -> str:
        try:
            # Naive unless the format has %z: the format says whether the device gives a zone.
            moment = datetime.strptime(text, fmt)
        except (ValueError, OverflowError):
            raise undecodable(name, f"does not match the format {fmt!r}", text) from None
        if not is_time:
            return moment.date().isoformat()
        return moment.isoformat() if has_date else moment.timetz().isoformat()

    return parse


def _json_number(name: str, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise undecodable(name, "not a JSON number", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise undecodable(name, "not a finite number", value)
    return value


def _json_float(name: str, value: object) -> float:
    try:
        number = float(_json_number(name, value))
    except OverflowError:  # an integer beyond the double range
        raise undecodable(name, "a number beyond the float range", value) from None
    return number


def _json_integer(name: str, value: object) -> int:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise undecodable(name, "not a JSON integer", value)
    return value


def _json_boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise undecodable(name, "not a JSON boolean", value)
    return value


def _string(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise undecodable(name, "not a JSON string", value)
    return value


def _lookup_key(name: str, value: object) -> Value:
    """A JSON scalar its lookup reads (a container or a non-finite number is refused)."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise undecodable(name, "not a JSON scalar its lookup can read", value)
