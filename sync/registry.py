"""The data-source registry contract: type specs, and the signed registry a gateway pulls.

A data-source type says how a source talks (transport), how its reports
decode (a decoder spec per transport), what each field means (unit, valid
range) and how the source proves who it is (auth mode):

- ``bound``: a device that can't sign is identified by where the installer
  registered it (gateway, bus or port, unit id or address);
- ``hmac``: HMAC-SHA256 (RFC 2104) over the report with the source's key;
- ``ed25519``: an Ed25519 signature (RFC 8032) with the source's key pair;
- ``sealed``: AES-GCM with the source's key, opened by the gateway or only
  by the cloud (``sealed_for``; the envelopes are in :mod:`edgeward.sync.reports`).
  The cloud decodes what only it opens with :mod:`edgeward.sync.type_decoders`, so
  a ``sealed_for: cloud`` type is MQTT, serial, or BLE with one characteristic
  (the cloud can't tell which characteristic a sealed report came from).

A registry entry carries what the gateway needs to admit the source: ``key``
(base64, the source key, for ``hmac`` and ``sealed_for: gateway``),
``auth_key`` (base64, for ``sealed_for: cloud``: the HKDF-derived
authentication key alone, which proves the sender and opens nothing) or
``public_key`` (``ed25519``).

The cloud validates specs when an account creates a type; the gateway builds
its decoders from the same specs. Both sides import this module and nothing
of each other.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edgeward.sync.batch import IDENTIFIER_RULE, is_identifier
from edgeward.sync.errors import SpecError

REGISTRY_FORMAT = "edgeward.registry"
REGISTRY_VERSION = 1
SIGNATURE_HEADER = "Edgeward-Signature"
REGISTRY_PATH = "/v1/registry"
PUBLIC_KEY_PATH = "/v1/registry/public-key"

TRANSPORTS = ("modbus", "serial", "ble", "mqtt")
AUTH_MODES = ("bound", "hmac", "ed25519", "sealed")
SEALED_FOR = ("gateway", "cloud")
VALUE_TYPES = ("int16", "uint16", "int32", "uint32", "float32", "float64", "string", "bool")
# GATT characteristic values: little-endian fixed-width numbers (no strings).
BLE_VALUE_TYPES = (
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "float32",
    "float64",
    "bool",
)
REGISTER_TABLES = ("holding", "input", "coil", "discrete_input")
SERIAL_FRAMINGS = ("line", "stx-etx", "length-prefixed")
# What a type's decoder spec must hold, per transport.
DECODER_KEYS = {
    "modbus": "registers",
    "serial": "fields",
    "ble": "characteristics",
    "mqtt": "fields",
}


def validate_type_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a type spec whole; return it normalised (defaults filled in)."""
    transport = _choice(spec, "transport", TRANSPORTS)
    auth_mode = _choice(spec, "auth_mode", AUTH_MODES)
    sealed_for = None
    if auth_mode == "sealed":
        sealed_for = _choice(spec, "sealed_for", SEALED_FOR)
    if sealed_for == "cloud" and transport == "modbus":
        raise SpecError("sealed_for", "a Modbus meter can't seal; only the gateway decodes it")
    decoder = spec.get("decoder")
    if not isinstance(decoder, Mapping):
        raise SpecError("decoder", f"expected an object with {DECODER_KEYS[transport]!r}")
    names = _decoder_field_names(transport, decoder)
    if sealed_for == "cloud" and transport == "ble" and len(decoder["characteristics"]) != 1:
        raise SpecError(
            "decoder.characteristics",
            "sealed for the cloud: exactly one characteristic (sealed reports don't say which)",
        )
    fields = _validate_fields(spec.get("fields", {}), names)
    return {
        "transport": transport,
        "auth_mode": auth_mode,
        "sealed_for": sealed_for,
        "decoder": dict(decoder),
        "fields": fields,
    }


def _choice(spec: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = spec.get(key)
    if value not in allowed:
        raise SpecError(key, f"expected one of {', '.join(allowed)}; found {value!r}")
    return str(value)


def _decoder_field_names(transport: str, decoder: Mapping[str, Any]) -> list[str]:
    """The value names a decoder produces; each transport's spec checked its own way."""
    key = DECODER_KEYS[transport]
    entries = decoder.get(key)
    if transport in ("modbus", "ble"):
        if not isinstance(entries, list) or not entries:
            raise SpecError(f"decoder.{key}", "expected a non-empty list")
        if transport == "modbus":
            return [_register(entry, f"decoder.registers[{i}]") for i, entry in enumerate(entries)]
        return [
            name
            for i, entry in enumerate(entries)
            for name in _characteristic(entry, f"decoder.characteristics[{i}]")
        ]
    if transport == "serial":
        if decoder.get("framing", "line") not in SERIAL_FRAMINGS:
            raise SpecError("decoder.framing", f"expected one of {', '.join(SERIAL_FRAMINGS)}")
        if not isinstance(entries, list):
            raise SpecError("decoder.fields", "expected a list of field names, in frame order")
        names = list(entries)
    else:  # mqtt: {value name: key in the JSON payload}
        if not isinstance(entries, Mapping):
            raise SpecError("decoder.fields", "expected {field: JSON key}")
        names = list(entries)
    if not names:
        raise SpecError(f"decoder.{key}", "expected at least one field")
    return [_identifier(name, f"decoder.{key}") for name in names]


def _register(entry: object, path: str) -> str:
    if not isinstance(entry, Mapping):
        raise SpecError(path, "expected an object")
    name = _identifier(entry.get("name"), f"{path}.name")
    address = entry.get("address")
    if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 65535:
        raise SpecError(f"{path}.address", "expected an integer from 0 to 65535")
    if entry.get("type") not in VALUE_TYPES:
        raise SpecError(f"{path}.type", f"expected one of {', '.join(VALUE_TYPES)}")
    if entry.get("table", "holding") not in REGISTER_TABLES:
        raise SpecError(f"{path}.table", f"expected one of {', '.join(REGISTER_TABLES)}")
    return name


def _characteristic(entry: object, path: str) -> list[str]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("uuid"), str):
        raise SpecError(path, "expected an object with a 'uuid' and a 'layout'")
    layout = entry.get("layout")
    if not isinstance(layout, list) or not layout:
        raise SpecError(f"{path}.layout", "expected a non-empty list of fields")
    names = []
    for i, part in enumerate(layout):
        where = f"{path}.layout[{i}]"
        if not isinstance(part, Mapping):
            raise SpecError(where, "expected an object")
        names.append(_identifier(part.get("name"), f"{where}.name"))
        offset = part.get("offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 512:
            raise SpecError(f"{where}.offset", "expected a byte offset from 0 to 511")
        if part.get("type") not in BLE_VALUE_TYPES:
            raise SpecError(f"{where}.type", f"expected one of {', '.join(BLE_VALUE_TYPES)}")
        scale = part.get("scale", 1.0)
        number = isinstance(scale, int | float) and not isinstance(scale, bool)
        if not number or not math.isfinite(scale):
            raise SpecError(f"{where}.scale", "expected a finite number")
    return names


def _validate_fields(fields: object, names: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(fields, Mapping):
        raise SpecError("fields", "expected {field: {unit, min, max}}")
    if len(set(names)) != len(names):
        raise SpecError("decoder", "a field name appears twice")
    checked: dict[str, dict[str, Any]] = {}
    for name, meta in fields.items():
        if name not in names:
            raise SpecError(f"fields.{name}", "not a field the decoder produces")
        if not isinstance(meta, Mapping):
            raise SpecError(f"fields.{name}", "expected {unit, min, max}")
        low, high = meta.get("min"), meta.get("max")
        for bound, value in (("min", low), ("max", high)):
            finite = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (finite and math.isfinite(value)):
                raise SpecError(f"fields.{name}.{bound}", "expected a finite number")
        if low is not None and high is not None and low > high:
            raise SpecError(f"fields.{name}", "min is above max")
        unit = meta.get("unit")
        if unit is not None and not (isinstance(unit, str) and len(unit) <= 32):
            raise SpecError(f"fields.{name}.unit", "expected a string of at most 32 chars")
        checked[str(name)] = {"unit": unit, "min": low, "max": high}
    return checked


def _identifier(value: object, path: str) -> str:
    if not isinstance(value, str) or not is_identifier(value):
        raise SpecError(path, f"expected {IDENTIFIER_RULE}")
    return value


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a signed document (registry, settings): what a signature covers."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def encode_registry(document: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a registry: what the signature covers."""
    return canonical_json(document)


def verify_signature(body: bytes, signature_b64: str, public_key_b64: str, what: str) -> None:
    """Raise unless ``signature_b64`` is the cloud's Ed25519 signature over ``body``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), body)
    except (InvalidSignature, ValueError, binascii.Error) as exc:
        raise SpecError("signature", f"the {what} is not signed by the cloud") from exc


def verify_registry(body: bytes, signature_b64: str, public_key_b64: str) -> dict[str, Any]:
    """The registry document if the cloud's Ed25519 signature over ``body`` holds."""
    verify_signature(body, signature_b64, public_key_b64, "registry")
    document = json.loads(body)
    if document.get("format") != REGISTRY_FORMAT or document.get("version") != REGISTRY_VERSION:
        raise SpecError("format", f"expected {REGISTRY_FORMAT} version {REGISTRY_VERSION}")
    return dict(document)
