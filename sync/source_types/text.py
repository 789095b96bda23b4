"""Text frames and JSON payloads, decoded by a type's text decoder (:class:`TextDecoder`).

One interpreter for every text format a type may name, built once per type
and used for every frame (the gateway admits by it; the cloud decodes
examples and sealed reports by it):

- ``delimited``: the text split at ``separator``; each field at its
  position ``at`` (default: right after the previous field, the first at
  0, skipping the record tag's position). With ``records``, the field at
  ``tag_at`` is matched whole against each record's ``tag`` regular
  expression, the first that matches giving the frame's kind (NMEA 0183's
  ``GPGGA``, ``GNRMC``). Positions beyond the frame are missing values:
  newer protocol versions append fields, older ones stop early.
- ``regex``: the decoder's ``pattern`` (or with records, each record's;
  the first that matches wins) matched against the whole text, each field
  read from its named group; or each field's own ``pattern`` searched in
  the text with ``re.MULTILINE``, its first group read: that is how a
  multi-line block (a DSMR P1 telegram) is read line by line.
- ``json``: each field at its dotted ``path`` (``a.b.0``: keys, and list
  indexes where the value is a list); JSON's types must fit the field's.
- ``binary``: the type's ``layout``, read by the binary interpreter the
  caller passes as ``binary`` (:data:`~edgeward.sync.source_types.text_checks.LayoutBuilder`).

The frame's checksum is checked first (a frame that fails is ``checksum``,
whatever else is wrong with it). Text values are stripped of surrounding
white space; an empty or missing value is absent when its field is not
``required`` and refused as ``undecodable`` (naming the field) when it is.
Each value is read by its type (:mod:`~edgeward.sync.source_types.text_values`),
then stored through the field's conversions
(:func:`~edgeward.sync.source_types.conversions.converter`); ``emit = false``
fields are read and checked but not stored. Only
:class:`~edgeward.sync.reports.ReportRejected` ever leaves :meth:`TextFrameDecoder.decode`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, cast

import msgspec

from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types.checksums import FrameChecksum
from edgeward.sync.source_types.conversions import Store, Value, Values, converter
from edgeward.sync.source_types.spec import TextDecoder, TextField
from edgeward.sync.source_types.text_checks import (
    LayoutBuilder,
    LayoutDecoder,
    check_text,
    positions,
)
from edgeward.sync.source_types.text_values import (
    hemisphere_sign,
    json_parser,
    text_parser,
)

__all__ = ["LayoutBuilder", "LayoutDecoder", "TextFrameDecoder", "check_text"]


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    required: bool
    emit: bool
    parse: Callable[[object], Value]
    store: Store
    hemisphere: tuple[int, str] | None  # (index in the record, name) of the N/S/E/W field


@dataclass(frozen=True, slots=True)
class _Kind:
    """One record kind (or the decoder's own fields), ready to read."""

    name: str
    fields: tuple[_Field, ...]
    matcher: re.Pattern[str] | None  # delimited: the tag; regex: the frame's pattern
    positions: tuple[int, ...] = ()  # delimited
    groups: tuple[str | re.Pattern[str], ...] = ()  # regex: a group name or the field's pattern
    paths: tuple[tuple[str, ...], ...] = ()  # json: the steps of each field's path
    checksum_at: tuple[int, str] | None = None  # delimited: (position, name) of a checksum field

    def values(self, raws: Sequence[object]) -> Values:
        values: Values = {}
        for field, raw in zip(self.fields, raws, strict=True):
            if raw is None:
                if field.required:
                    raise ReportRejected(
                        "undecodable", f"field {field.name!r} is empty or missing", field=field.name
                    )
                continue
            value = field.parse(raw)
            if field.hemisphere is not None and isinstance(value, float):
                index, hemisphere = field.hemisphere
                value *= hemisphere_sign(field.name, hemisphere, raws[index])
            if field.emit:
                _store(field, value, values)
        return values


class TextFrameDecoder:
    """Decodes frames by one :class:`TextDecoder`; built once per type.

    ``binary``: the binary interpreter's layout builder, needed only for
    ``format = "binary"``. The decoder is checked first
    (:func:`check_text`, paths under ``decoder``): building raises only
    :class:`~edgeward.sync.errors.SpecError`.
    """

    def __init__(self, decoder: TextDecoder, *, binary: LayoutBuilder | None = None) -> None:
        check_text(decoder, "decoder", binary=binary)
        self.decoder = decoder
        self._checksum = None if decoder.checksum is None else FrameChecksum(decoder.checksum)
        self._layout = None
        if decoder.format == "binary" and binary is not None:
            self._layout = binary(decoder.layout, "decoder.layout")
        self._separator = decoder.separator
        self._tag_at = decoder.tag_at
        self._has_records = bool(decoder.records)
        if decoder.records:
            by_tag = decoder.format == "delimited"
            self._kinds = tuple(
                self._kind(record.name, record.fields, record.tag if by_tag else record.pattern)
                for record in decoder.records
            )
        else:
            self._kinds = (self._kind("", decoder.fields, decoder.pattern),)

    def decode(self, frame: bytes) -> dict[str, Value]:
        """The values of ``frame``; ReportRejected (checksum, undecodable, out-of-range) if none."""
        body = frame if self._checksum is None else self._checksum.verify(frame)
        if self._layout is not None:
            return self._layout(body)
        if self.decoder.format == "json":
            return self._json(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ReportRejected("undecodable", "the frame is not UTF-8 text") from None
        if self.decoder.format == "delimited":
            return self._delimited(text)
        return self._regex(text)

    # ------------------------------------------------------------ building

    def _kind(self, name: str, fields: Sequence[TextField], matcher: str | None) -> _Kind:
        fmt = self.decoder.format
        names = [field.name for field in fields]
        built = tuple(
            _Field(
                name=field.name,
                required=field.required,
                emit=field.emit,
                parse=_parser(field, fmt),
                store=converter(field.name, field),
                hemisphere=(
                    (names.index(field.hemisphere), field.hemisphere) if field.hemisphere else None
                ),
            )
            for field in fields
        )
        compiled = re.compile(matcher) if matcher is not None else None
        if fmt == "regex":
            return _Kind(name, built, compiled, groups=tuple(_regex_source(f) for f in fields))
        if fmt == "json":
            paths = tuple(tuple((f.path or f.name).split(".")) for f in fields)
            return _Kind(name, built, compiled, paths=paths)
        at = tuple(positions(fields, self.decoder.tag_at if self._has_records else None))
        checksum, checksum_at = self.decoder.checksum, None
        if checksum is not None and checksum.field is not None:
            checksum_at = (at[names.index(checksum.field)], checksum.field)
        return _Kind(name, built, compiled, positions=at, checksum_at=checksum_at)

    # ------------------------------------------------------------ reading

    def _delimited(self, text: str) -> Values:
        parts = text.split(self._separator)
        kind = self._kinds[0]
        if self._has_records:
            kind = self._by_tag(parts)
        if kind.checksum_at is not None:
            self._check_field(kind.checksum_at, parts)
        return kind.values(
            [_clean(parts[at]) if at < len(parts) else None for at in kind.positions]
        )

    def _by_tag(self, parts: list[str]) -> _Kind:
        if self._tag_at >= len(parts):
            raise ReportRejected("undecodable", f"the frame has no tag at position {self._tag_at}")
        tag = parts[self._tag_at].strip()
        for kind in self._kinds:
            assert kind.matcher is not None
            if kind.matcher.fullmatch(tag):
                return kind
        self._unmatched(f"no record kind has the tag {tag!r}", tag)

    def _unmatched(self, message: str, tag: str | None = None) -> NoReturn:
        if self.decoder.unmatched == "ignore":
            raise FrameIgnored(message)
        raise ReportRejected("undecodable", message, value=tag)

    def _check_field(self, checksum_at: tuple[int, str], parts: list[str]) -> None:
        assert self._checksum is not None
        at, name = checksum_at
        if at >= len(parts) or not parts[at].strip():
            raise ReportRejected("checksum", f"no checksum in field {name!r}", field=name)
        covered = self._separator.join(parts[:at]).encode()
        self._checksum.check_hex(covered, parts[at].strip().encode(), field=name)

    def _regex(self, text: str) -> Values:
        match = None
        for kind in self._kinds:
            if kind.matcher is None:
                break
            match = kind.matcher.fullmatch(text)
            if match is not None:
                break
        else:
            if self._has_records:
                self._unmatched("no record kind's pattern matches the frame")
            self._unmatched("the frame does not match the decoder's pattern")
        raws: list[object] = []
        for source in kind.groups:
            if isinstance(source, str):
                assert match is not None  # check_text: a group needs the pattern
                raws.append(_clean(match.group(source)))
            else:
                found = source.search(text)
                raws.append(_clean(found.group(1)) if found is not None else None)
        return kind.values(raws)

    def _json(self, body: bytes) -> Values:
        try:
            document = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):
            raise ReportRejected("undecodable", "the payload is not JSON (RFC 8259)") from None
        kind = self._kinds[0]
        return kind.values([_at(document, steps) for steps in kind.paths])


def _parser(field: TextField, fmt: str) -> Callable[[object], Value]:
    if fmt == "json":
        return json_parser(field)
    # Text formats hand their parsers text only (_clean's result).
    return cast(Callable[[object], Value], text_parser(field))


def _regex_source(field: TextField) -> str | re.Pattern[str]:
    if field.pattern is not None:
        return re.compile(field.pattern, re.MULTILINE)
    return field.group or field.name


def _clean(text: str | None) -> str | None:
    """A value's text without surrounding white space; None when nothing is left."""
    if text is None:
        return None
    return text.strip() or None


def _at(document: object, steps: tuple[str, ...]) -> object:
    """The JSON value at ``steps``; None when absent, null or an empty string."""
    value = document
    for step in steps:
        if isinstance(value, dict):
            value = value.get(step)
        elif (
            isinstance(value, list) and step.isascii() and step.isdigit() and int(step) < len(value)
        ):
            value = value[int(step)]
        else:
            return None
    return None if value == "" else value


def _store(field: _Field, value: Value, values: Values) -> None:
    try:
        field.store(value, values)
    except OverflowError:  # an integer too large for its scale's float arithmetic
        raise ReportRejected(
            "out-of-range", f"field {field.name!r} is beyond the float range", field=field.name
        ) from None
