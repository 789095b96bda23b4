"""The conversions every field of a type may carry, built once per field into one function.

A field's raw value (a number from registers or bytes, a text or JSON
value) becomes what is stored in this order (see
:class:`~edgeward.sync.source_types.spec.Conversions`): a raw value listed
in ``unknown`` makes the field absent (a sensor saying "not known" is not
garbage); ``bits`` store named bits beside the value; ``lookup`` replaces
the raw value (a raw value it doesn't list is refused as ``out-of-range``);
otherwise ``raw * scale + offset``, rounded to the decimals the scale and
offset carry when the raw value is an integer (fixed point: 4998 * 0.01 is
49.98, not 49.980000000000004).

The built function stores into the values dict it is given rather than
returning, so an absent field costs nothing and a field with bits stores
several values without an intermediate dict.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable

from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.spec import Conversions

Value = bool | int | float | str
Values = dict[str, Value]
Store = Callable[[Value, Values], None]


def decimals(*numbers: float) -> int:
    """Decimal places a fixed-point result of these factors carries (at most 12)."""
    places = 0
    for number in numbers:
        exponent = decimal.Decimal(repr(float(number))).as_tuple().exponent
        if isinstance(exponent, int):
            places = max(places, -exponent)
    return min(places, 12)


def converter(name: str, conversions: Conversions) -> Store:
    """The function that stores field ``name``'s converted raw value into a values dict."""
    unknown = frozenset(_hashable(value) for value in conversions.unknown)
    lookup = conversions.lookup
    bits = tuple((b.name, b.bit, (1 << b.width) - 1, b.width == 1) for b in conversions.bits)
    scale, offset = conversions.scale, conversions.offset
    identity = scale == 1.0 and offset == 0.0
    places = decimals(scale, offset)

    def store(raw: Value, values: Values) -> None:
        if unknown and _hashable(raw) in unknown:
            return
        if bits:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ReportRejected(
                    "undecodable", f"field {name!r}: bits of a non-integer", field=name, value=raw
                )
            for part, shift, mask, flag in bits:
                piece = (raw >> shift) & mask
                values[part] = bool(piece) if flag else piece
        if lookup is not None:
            try:
                values[name] = lookup[_key(raw)]
            except KeyError:
                raise ReportRejected(
                    "out-of-range", f"field {name!r}: not in its lookup", field=name, value=raw
                ) from None
            return
        if identity or isinstance(raw, bool | str):
            values[name] = raw
            return
        try:
            if isinstance(raw, int):
                result: float = round(raw * scale + offset, places)
            else:
                result = raw * scale + offset
        except OverflowError:  # an integer no float can hold, scaled
            result = math.inf
        if not math.isfinite(result):
            raise ReportRejected(
                "out-of-range", f"field {name!r} is not a finite number", field=name, value=raw
            )
        values[name] = result

    return store


def _key(raw: Value) -> str:
    """A lookup key: JSON object keys are text, so raw values are looked up as text."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _hashable(value: Value) -> tuple[str, Value]:
    # True == 1 in Python: an unknown code 1 must not swallow a boolean true.
    return ("bool" if isinstance(value, bool) else "other", value)
