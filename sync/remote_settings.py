"""Remote gateway settings: which gateway.toml keys the cloud may set, their rules,
and the signed settings document a gateway pulls.

An operator changes a gateway's settings at the cloud as an *overlay*: a
subset of gateway.toml (``{"uplink": {"batch_max_readings": 200}}``). The
cloud validates it with :func:`validate_overlay` before it stores a new
version; the gateway parses the overlay merged over its own gateway.toml
with its config parser, which takes its bounds from :data:`REMOTE_RULES`
too, so both sides hold one rule per key. A gateway older than its cloud
may still refuse a document the cloud accepted; it then keeps its last
good settings and says so (:func:`encode_report`).

The document is canonical JSON signed by the cloud's Ed25519 key (RFC 8032)
exactly like the registry (:mod:`edgeward.sync.registry`)::

    {"format": "edgeward.settings", "version": 1, "gateway_id": "gw_...",
     "settings_version": 7, "settings": {"uplink": {...}, ...}}

``settings_version`` counts the changes of one gateway's settings; 0 means
"none set: gateway.toml alone".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgeward.sync.batch import is_identifier
from edgeward.sync.errors import BatchFormatError, SyncError
from edgeward.sync.registry import canonical_json, verify_signature

SETTINGS_FORMAT = "edgeward.settings"
SETTINGS_VERSION = 1
SETTINGS_PATH = "/v1/registry/settings"
REPORT_FORMAT = "edgeward.settings-report"
REPORT_PATH = "/v1/ingest/settings-report"
MIB = 1024 * 1024
# The cloud refuses a batch body over 8 MiB; half leaves room for JSON overhead.
MAX_BATCH_BYTES_SETTING = 4 * MIB
MAX_ERROR_CHARS = 500


class SettingsError(SyncError):
    """A settings overlay or document breaks the contract; ``path`` names the key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Rule:
    """What one key accepts: ``kind`` is integer, number, choice or boolean."""

    kind: str
    low: float = 0
    high: float = 0
    options: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        """Worded as the gateway's config errors word it."""
        if self.kind == "integer":
            return f"an integer from {int(self.low)} to {int(self.high)}"
        if self.kind == "number":
            return f"a number from {self.low:g} to {self.high:g}"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(option) for option in self.options)
        return "true or false"

    def accepts(self, value: object) -> bool:
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "choice":
            return value in self.options
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "integer" and not isinstance(value, int):
            return False
        return self.low <= value <= self.high


def _int(low: int, high: int) -> Rule:
    return Rule("integer", low, high)


def _num(low: float, high: float) -> Rule:
    return Rule("number", low, high)


# Every key the cloud may set, by gateway.toml section. Devices, the cloud
# address, credentials and paths stay local: a wrong one remotely set could
# cut the gateway off from the cloud that would have to repair it.
REMOTE_RULES: dict[str, dict[str, Rule]] = {
    "uplink": {
        "batch_max_readings": _int(1, 10_000),
        "batch_max_bytes": _int(1024, MAX_BATCH_BYTES_SETTING),
        "batch_max_age": _num(0, 3600),
        "idle_interval": _num(0.01, 3600),
        "timeout": _num(0.1, 600),
        "backoff_max": _num(0.1, 3600),
        "compress": Rule("boolean"),
    },
    "outbox": {
        "synchronous": Rule("choice", options=("full", "normal")),
        "max_bytes": _int(1 * MIB, 2**50),
        "full_policy": Rule("choice", options=("drop_oldest", "stop_reading")),
        "key_rotation_days": _num(0, 3650),
        # Raise it to have the gateway seal new rows under a fresh data key, once.
        "rotate_key_serial": _int(0, 2**31 - 1),
    },
    "health": {"status_interval": _num(0.05, 3600)},
    "log": {"level": Rule("choice", options=("debug", "info", "warning", "error"))},
    "remote": {"poll_interval": _num(0.05, 86_400)},
}


def validate_overlay(overlay: object, *, check_values: bool = True) -> dict[str, dict[str, Any]]:
    """The overlay if every key is remotely settable (and, with ``check_values``,
    every value within its rule); else :class:`SettingsError` naming the key."""
    if not isinstance(overlay, Mapping):
        raise SettingsError("settings", "expected an object of gateway.toml sections")
    checked: dict[str, dict[str, Any]] = {}
    for section, values in overlay.items():
        rules = REMOTE_RULES.get(section)
        if rules is None:
            allowed = ", ".join(REMOTE_RULES)
            raise SettingsError(str(section), f"not remotely settable; settable: {allowed}")
        if not isinstance(values, Mapping):
            raise SettingsError(section, "expected an object of keys")
        for key, value in values.items():
            rule = rules.get(key)
            if rule is None:
                settable = ", ".join(rules)
                raise SettingsError(
                    f"{section}.{key}", f"not remotely settable; settable: {settable}"
                )
            if check_values and not rule.accepts(value):
                raise SettingsError(
                    f"{section}.{key}", f"expected {rule.expected}, found {value!r}"
                )
        if values:
            checked[section] = dict(values)
    return checked


def encode_settings(gateway_id: str, settings_version: int, overlay: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a settings document: what the cloud's signature covers."""
    return canonical_json(
        {
            "format": SETTINGS_FORMAT,
            "version": SETTINGS_VERSION,
            "gateway_id": gateway_id,
            "settings_version": settings_version,
            "settings": dict(overlay),
        }
    )


@dataclass(frozen=True, slots=True)
class SettingsDocument:
    gateway_id: str
    settings_version: int
    overlay: dict[str, dict[str, Any]]


def verify_settings(body: bytes, signature_b64: str, public_key_b64: str) -> SettingsDocument:
    """The settings document if the cloud's signature over ``body`` holds and it is
    well formed (keys remotely settable; values are left to the gateway's parser)."""
    verify_signature(body, signature_b64, public_key_b64, "settings")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SettingsError("", "not valid JSON") from exc
    return read_settings(document)


def read_settings(document: object) -> SettingsDocument:
    if not isinstance(document, Mapping):
        raise SettingsError("", "expected a settings document")
    if document.get("format") != SETTINGS_FORMAT or document.get("version") != SETTINGS_VERSION:
        raise SettingsError("format", f"expected {SETTINGS_FORMAT} version {SETTINGS_VERSION}")
    gateway_id = document.get("gateway_id")
    if not isinstance(gateway_id, str) or not is_identifier(gateway_id):
        raise SettingsError("gateway_id", "expected an identifier")
    number = document.get("settings_version")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise SettingsError("settings_version", "expected a non-negative integer")
    overlay = validate_overlay(document.get("settings"), check_values=False)
    return SettingsDocument(gateway_id, number, overlay)


@dataclass(frozen=True, slots=True)
class SettingsReport:
    """What a gateway runs (``applied_version``) and the last version it refused, with why."""

    gateway_id: str
    applied_version: int
    refused_version: int | None = None
    error: str = ""


def encode_report(report: SettingsReport) -> bytes:
    return json.dumps(
        {
            "format": REPORT_FORMAT,
            "version": SETTINGS_VERSION,
            "gateway_id": report.gateway_id,
            "applied_version": report.applied_version,
            "refused_version": report.refused_version,
            "error": report.error[:MAX_ERROR_CHARS],
        },
        separators=(",", ":"),
    ).encode()


def decode_report(body: bytes) -> SettingsReport:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BatchFormatError("", "not valid JSON") from exc
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise BatchFormatError("format", f"expected {REPORT_FORMAT!r}")
    if document.get("version") != SETTINGS_VERSION:
        raise BatchFormatError("version", f"expected {SETTINGS_VERSION}")
    gateway_id = document.get("gateway_id")
    if not isinstance(gateway_id, str) or not is_identifier(gateway_id):
        raise BatchFormatError("gateway_id", "expected an identifier")
    versions: list[int | None] = []
    for key in ("applied_version", "refused_version"):
        value = document.get(key)
        valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62
        if not valid and not (key == "refused_version" and value is None):
            raise BatchFormatError(key, "expected a non-negative integer")
        versions.append(value)
    error = document.get("error", "")
    if not isinstance(error, str):
        raise BatchFormatError("error", "expected a string")
    applied = versions[0]
    assert applied is not None
    return SettingsReport(gateway_id, applied, versions[1], error[:MAX_ERROR_CHARS])
