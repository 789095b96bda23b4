"""Type documents of the first type language, rewritten in today's.

Until the type language (:mod:`~edgeward.sync.source_types.spec`), a
Modbus register carried ``word_order``/``byte_order`` (big or little), a
serial decoder a list of field names, a BLE layout byte ``offset``\\ s and
an MQTT decoder ``{field: JSON key}``. The cloud's migration rewrites the
types it stored that way and ``edgeward devices convert`` rewrites the
register maps old gateway.toml files held inline; both go through here, so
the two agree on what an old description meant. Frozen: a change of the
language gets its own converter, never an edit of this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (word_order, byte_order) -> order: A is the most significant byte.
ORDERS = {
    ("big", "big"): "ABCD",
    ("little", "big"): "CDAB",
    ("big", "little"): "BADC",
    ("little", "little"): "DCBA",
}
LEGACY_FRAMINGS = {"line": "line", "stx-etx": "stx-etx", "stx_etx": "stx-etx"}


def is_legacy(spec: Mapping[str, Any]) -> bool:
    """Whether ``spec`` is written in the first language (it can't be parsed by today's)."""
    decoder = spec.get("decoder")
    if not isinstance(decoder, Mapping):
        return False
    transport = spec.get("transport")
    if transport == "modbus":
        return any(
            isinstance(r, Mapping) and ("word_order" in r or "byte_order" in r)
            for r in decoder.get("registers", [])
        )
    if transport in ("serial", "mqtt"):
        fields = decoder.get("fields")
        return (
            isinstance(fields, Mapping)
            or (isinstance(fields, list) and any(isinstance(f, str) for f in fields))
            or isinstance(decoder.get("framing"), str)
        )
    if transport == "ble":
        return any(
            isinstance(part, Mapping) and "offset" in part and "at" not in part
            for c in decoder.get("characteristics", [])
            if isinstance(c, Mapping)
            for part in c.get("layout") or []
        )
    return False


def register(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One register of the first language (or of an old gateway.toml) in today's."""
    converted = {k: v for k, v in entry.items() if k not in ("word_order", "byte_order")}
    order = ORDERS[(entry.get("word_order", "big"), entry.get("byte_order", "big"))]
    if order != "ABCD":
        converted["order"] = order
    return converted


def convert_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` in today's language (a spec already in it is returned as it is)."""
    if not is_legacy(spec):
        return dict(spec)
    decoder = dict(spec["decoder"])
    transport = spec["transport"]
    if transport == "modbus":
        decoder["registers"] = [register(r) for r in decoder["registers"]]
    elif transport == "ble":
        decoder["characteristics"] = [
            {
                **c,
                "layout": [
                    {("at" if k == "offset" else k): v for k, v in part.items()}
                    for part in c.get("layout") or []
                ],
            }
            for c in decoder["characteristics"]
        ]
    elif transport == "serial":
        framing = decoder.pop("framing", "line")
        decoder = {
            "framing": {"kind": LEGACY_FRAMINGS.get(framing, framing)},
            "format": "delimited",
            "fields": [{"name": name, "type": "float"} for name in decoder.get("fields", [])],
            **({"separator": decoder["separator"]} if "separator" in decoder else {}),
        }
    else:  # mqtt: {field: JSON key}; the first language read any finite scalar
        decoder = {
            "format": "json",
            "fields": [
                {"name": name, "path": key, "type": "float"}
                for name, key in dict(decoder.get("fields", {})).items()
            ],
        }
    fields = {
        name: {k: v for k, v in dict(meta).items() if v is not None}
        for name, meta in dict(spec.get("fields") or {}).items()
    }
    converted = {**spec, "decoder": decoder, "fields": fields}
    if converted.get("sealed_for") is None:
        converted.pop("sealed_for", None)
    return converted
