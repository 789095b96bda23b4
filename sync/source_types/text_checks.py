"""The rules of a text decoder that span several keys, checked where a type is written.

msgspec (:mod:`~edgeward.sync.source_types.spec`) already refused unknown
keys and wrong types; this refuses what is well-formed key by key but can't
be decoded as a whole: keys of another format (``at`` in a JSON decoder),
regular expressions that don't compile, a field naming a group its pattern
lacks, a hemisphere or checksum field that does not exist, conversions a
field's type can't take. Each refusal is a
:class:`~edgeward.sync.errors.SpecError` naming the key by its path
(``decoder.records[1].fields[3].hemisphere``), and nothing else is ever
raised, whatever the decoder holds (hypothesis checks that).

A ``binary`` decoder's ``layout`` is not read here: its rules belong to the
binary interpreter, which the caller passes in as ``binary`` (see
:data:`LayoutBuilder`); without it a binary decoder is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from edgeward.sync.errors import SpecError
from edgeward.sync.source_types.checksums import check_checksum
from edgeward.sync.source_types.conversions import Value
from edgeward.sync.source_types.spec import (
    BinaryField,
    BlockFraming,
    SerialDecoder,
    TextDecoder,
    TextField,
)

LayoutDecoder = Callable[[bytes], dict[str, Value]]
# The binary interpreter's hook: (layout, its path) -> the frame decoder; raises only
# SpecError(path, ...) for a layout it can't read.
LayoutBuilder = Callable[[Sequence[BinaryField], str], LayoutDecoder]

_NUMBERS = ("integer", "float")
_LOOKUP_TYPES = ("string", "enum", "integer", "boolean")
# A moment every strptime format can write; a format is valid when it reads back what it wrote.
_SAMPLE = datetime(2026, 12, 5, 12, 35, 19, 500000, tzinfo=UTC)


def check_text(decoder: TextDecoder, path: str, *, binary: LayoutBuilder | None = None) -> None:
    """Refuse ``decoder`` (at ``path``, e.g. ``decoder``) if it can't be read as a whole."""
    if decoder.checksum is not None:
        check_checksum(decoder.checksum, f"{path}.checksum")
    if decoder.pattern is not None and decoder.format != "regex":
        raise SpecError(f"{path}.pattern", "a decoder pattern is for format regex")
    matching = decoder.records or (decoder.format == "regex" and decoder.pattern is not None)
    if decoder.unmatched == "ignore" and not matching:
        raise SpecError(f"{path}.unmatched", "ignore is for records or a regex pattern")
    if decoder.format == "binary":
        _check_binary(decoder, path, binary)
    else:
        _check_text_format(decoder, path)
    if decoder.checksum is not None and decoder.checksum.field is not None:
        _check_checksum_field(decoder, decoder.checksum.field, path)
    if isinstance(decoder, SerialDecoder) and isinstance(decoder.framing, BlockFraming):
        compile_pattern(decoder.framing.end, f"{path}.framing.end")
        if decoder.framing.start is not None:
            compile_pattern(decoder.framing.start, f"{path}.framing.start")


def compile_pattern(pattern: str, path: str, flags: int = 0) -> re.Pattern[str]:
    """``pattern`` compiled, or SpecError naming its key."""
    try:
        return re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise SpecError(path, f"not a regular expression: {exc}") from None


def positions(fields: Sequence[TextField], tag_at: int | None) -> list[int]:
    """Each delimited field's position: its ``at``, else right after the previous field's,
    the first at 0; a defaulted position skips the record tag's (``tag_at``)."""
    result: list[int] = []
    following = 0
    for field in fields:
        at = field.at
        if at is None:
            at = following + 1 if following == tag_at else following
        result.append(at)
        following = at + 1
    return result


def _check_binary(decoder: TextDecoder, path: str, binary: LayoutBuilder | None) -> None:
    if decoder.fields:
        raise SpecError(f"{path}.fields", "a binary frame is read by its layout, not fields")
    if decoder.records:
        raise SpecError(f"{path}.records", "a binary frame is read by its layout, not records")
    if not decoder.layout:
        raise SpecError(f"{path}.layout", "format binary needs a layout")
    if binary is None:
        raise SpecError(
            f"{path}.format",
            "binary layouts are read by sync.source_types.binary, not wired into this decoder",
        )
    binary(decoder.layout, f"{path}.layout")


def _check_text_format(decoder: TextDecoder, path: str) -> None:
    if decoder.layout:
        raise SpecError(f"{path}.layout", "a layout is read only with format binary")
    if decoder.fields and decoder.records:
        raise SpecError(f"{path}.records", "fields and records both: give one or the other")
    if not decoder.fields and not decoder.records:
        raise SpecError(f"{path}.fields", "no fields and no records: give one or the other")
    container = None
    if decoder.pattern is not None:
        container = compile_pattern(decoder.pattern, f"{path}.pattern")
    if decoder.records:
        if decoder.format == "json":
            raise SpecError(f"{path}.records", "a JSON payload has fields, not record kinds")
        if container is not None:
            raise SpecError(f"{path}.pattern", "with records, each record has its own pattern")
        _check_records(decoder, path)
    else:
        _check_fields(decoder.fields, decoder.format, f"{path}.fields", container)


def _check_records(decoder: TextDecoder, path: str) -> None:
    names: set[str] = set()
    for index, record in enumerate(decoder.records):
        where = f"{path}.records[{index}]"
        if record.name in names:
            raise SpecError(f"{where}.name", f"a second record named {record.name!r}")
        names.add(record.name)
        if decoder.format != "delimited" and record.tag is not None:
            raise SpecError(f"{where}.tag", "a record tag is for format delimited")
        if decoder.format != "regex" and record.pattern is not None:
            raise SpecError(f"{where}.pattern", "a record pattern is for format regex")
        if decoder.format == "delimited":
            if record.tag is None:
                raise SpecError(f"{where}.tag", "a delimited record needs the tag it matches")
            compile_pattern(record.tag, f"{where}.tag")
        container = None
        if decoder.format == "regex":
            if record.pattern is None:
                raise SpecError(f"{where}.pattern", "a regex record needs the pattern it matches")
            container = compile_pattern(record.pattern, f"{where}.pattern")
        _check_fields(record.fields, decoder.format, f"{where}.fields", container)


def _check_fields(
    fields: Sequence[TextField], fmt: str, path: str, container: re.Pattern[str] | None
) -> None:
    names = {field.name for field in fields}
    seen: set[str] = set()
    emitted: set[str] = set()
    for index, field in enumerate(fields):
        where = f"{path}[{index}]"
        if field.name in seen:
            raise SpecError(f"{where}.name", f"a second field named {field.name!r}")
        seen.add(field.name)
        _check_format_keys(field, fmt, where, container)
        _check_type(field, where)
        _check_conversions(field, where)
        if field.hemisphere is not None:
            if field.convert is None:
                raise SpecError(f"{where}.hemisphere", "a hemisphere needs convert")
            if field.hemisphere == field.name or field.hemisphere not in names:
                raise SpecError(
                    f"{where}.hemisphere", f"no other field named {field.hemisphere!r} here"
                )
        if field.emit:
            _claim(emitted, field.name, f"{where}.name")
            for bit_index, bit in enumerate(field.bits):
                _claim(emitted, bit.name, f"{where}.bits[{bit_index}].name")


def _claim(emitted: set[str], name: str, path: str) -> None:
    if name in emitted:
        raise SpecError(path, f"{name!r} is stored twice by this record")
    emitted.add(name)


def _check_format_keys(
    field: TextField, fmt: str, where: str, container: re.Pattern[str] | None
) -> None:
    if field.path is not None and fmt != "json":
        raise SpecError(f"{where}.path", "a path is for format json")
    if field.at is not None and fmt != "delimited":
        raise SpecError(f"{where}.at", "a position is for format delimited")
    for key, value in (("group", field.group), ("pattern", field.pattern)):
        if value is not None and fmt != "regex":
            raise SpecError(f"{where}.{key}", f"a {key} is for format regex")
    if fmt == "json" and "" in (field.path or field.name).split("."):
        raise SpecError(f"{where}.path", "a dotted path with an empty step (the name, if no path)")
    if fmt == "regex":
        _check_regex_field(field, where, container)


def _check_regex_field(field: TextField, where: str, container: re.Pattern[str] | None) -> None:
    if field.pattern is not None:
        if field.group is not None:
            raise SpecError(f"{where}.group", "a field with its own pattern reads its first group")
        own = compile_pattern(field.pattern, f"{where}.pattern", re.MULTILINE)
        if own.groups < 1:
            raise SpecError(f"{where}.pattern", "the pattern needs a group: the value it reads")
        return
    if container is None:
        raise SpecError(
            f"{where}.pattern", "no pattern to read from: give the decoder's or this field's"
        )
    group = field.group or field.name
    if group not in container.groupindex:
        raise SpecError(f"{where}.group", f"the pattern has no group named {group!r}")


def _check_type(field: TextField, where: str) -> None:
    if field.type == "enum" and not field.values:
        raise SpecError(f"{where}.values", "an enum needs its values")
    if field.type != "enum" and field.values is not None:
        raise SpecError(f"{where}.values", f"values are for an enum, not a {field.type}")
    if field.format is not None:
        if field.type not in ("time", "date"):
            raise SpecError(
                f"{where}.format", f"a format is for a time or a date, not a {field.type}"
            )
        _check_strptime(field.format, f"{where}.format")
    elif field.type == "date":
        raise SpecError(f"{where}.format", "a date needs its strptime format (%d%m%y, %Y-%m-%d)")
    if field.convert is not None and field.type != "float":
        raise SpecError(f"{where}.convert", f"{field.convert} gives a float, not a {field.type}")


def _check_strptime(fmt: str, path: str) -> None:
    try:
        datetime.strptime(_SAMPLE.strftime(fmt), fmt)
    except (ValueError, OverflowError) as exc:
        raise SpecError(path, f"not a strptime format that reads what it writes: {exc}") from None


def _check_conversions(field: TextField, where: str) -> None:
    if field.bits and field.type != "integer":
        raise SpecError(f"{where}.bits", f"bits are read from an integer, not a {field.type}")
    if field.lookup is not None and field.type not in _LOOKUP_TYPES:
        raise SpecError(f"{where}.lookup", f"a lookup can't read a {field.type}")
    if field.type not in _NUMBERS:
        if field.scale != 1.0:
            raise SpecError(f"{where}.scale", f"a scale is for numbers, not a {field.type}")
        if field.offset != 0.0:
            raise SpecError(f"{where}.offset", f"an offset is for numbers, not a {field.type}")


def _check_checksum_field(decoder: TextDecoder, name: str, path: str) -> None:
    where = f"{path}.checksum.field"
    if decoder.format != "delimited":
        raise SpecError(where, "a checksum field is for format delimited")
    tag_at = decoder.tag_at if decoder.records else None
    kinds = [(f" in record {r.name!r}", r.fields) for r in decoder.records]
    for kind, fields in kinds or [("", decoder.fields)]:
        names = [field.name for field in fields]
        if name not in names:
            raise SpecError(where, f"no field named {name!r}{kind}")
        index = names.index(name)
        if fields[index].type != "string":
            raise SpecError(where, f"field {name!r} holds hex text: its type must be string")
        if positions(fields, tag_at)[index] == 0:
            raise SpecError(where, f"field {name!r} is first{kind}: its checksum covers nothing")
