"""A decoder per data-source type: the one entry point both sides decode through.

The gateway decodes every report it admits by its source's type, the cloud
the reports sealed for it alone and every example of a type it is given.
A decoder turns a payload and its origin (the BLE characteristic is at the
end of it) into named values; it raises
:class:`~edgeward.sync.reports.ReportRejected` (``checksum``,
``undecodable``, ``out-of-range``) and never anything else, so admission
counts garbage for the source and moves on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.binary import LayoutDecoder, check_layout
from edgeward.sync.source_types.ble import BleTypeDecoder
from edgeward.sync.source_types.conversions import Value, Values
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import (
    BinaryField,
    BleType,
    FieldMeta,
    ModbusType,
    TypeSpec,
)
from edgeward.sync.source_types.text import TextFrameDecoder

__all__ = [
    "Decoder",
    "Value",
    "Values",
    "binary_layout",
    "build_decoder",
    "check_ranges",
    "range_check",
]

Decoder = Callable[[bytes, str], Values]


def build_decoder(spec: TypeSpec) -> Decoder:
    """The decoder of ``spec`` (a type that passed :func:`~.checks.check_type_spec`)."""
    if isinstance(spec, ModbusType):
        return RegisterPlan(spec.decoder).decode
    if isinstance(spec, BleType):
        return BleTypeDecoder(spec.decoder).decode
    text = TextFrameDecoder(spec.decoder, binary=binary_layout)
    return lambda payload, origin: text.decode(payload)


def binary_layout(fields: Sequence[BinaryField], path: str) -> Callable[[bytes], Values]:
    """The binary interpreter for text decoders of ``format = "binary"`` (serial, MQTT)."""
    check_layout(fields, path)
    return LayoutDecoder(fields).decode


def check_ranges(values: Values, fields: Mapping[str, FieldMeta]) -> None:
    """Refuse non-finite numbers and values outside a field's declared range."""
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ReportRejected("out-of-range", f"{name} is {value}", field=name, value=value)
        meta = fields.get(name)
        if meta is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if (meta.min is not None and value < meta.min) or (
            meta.max is not None and value > meta.max
        ):
            raise ReportRejected(
                "out-of-range",
                f"{name}={value} outside [{meta.min}, {meta.max}]",
                field=name,
                value=value,
            )


def range_check(fields: Mapping[str, FieldMeta]) -> Callable[[Values], None]:
    """:func:`check_ranges` for one type's decoded values, on the admission hot path.

    Only the bounded fields are looked at: every decoder here refuses NaN and
    infinity itself (a value no JSON document, hence no batch, can carry), which
    the decoders' hypothesis tests hold them to.
    """
    bounds = tuple(
        (
            name,
            -math.inf if meta.min is None else meta.min,
            math.inf if meta.max is None else meta.max,
        )
        for name, meta in fields.items()
        if meta.min is not None or meta.max is not None
    )

    def check(values: Values) -> None:
        for name, low, high in bounds:
            value = values.get(name)
            if value is None or value.__class__ is str or value.__class__ is bool:
                continue
            if not low <= value <= high:  # type: ignore[operator]
                raise ReportRejected(
                    "out-of-range",
                    f"{name}={value} outside [{low}, {high}]",
                    field=name,
                    value=value,
                )

    return check
