"""The envelope gateways wrap their reports in: format, version, gateway, a bounded list.

``{"format": "...", "version": N, "gateway_id": "...", "<items>": [...]}``.
Gateway events and security events share it; each module keeps its own item
rules, so only the envelope's checks (and their error paths) live here once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edgeward.sync.batch import is_identifier
from edgeward.sync.errors import BatchFormatError


@dataclass(frozen=True, slots=True)
class Envelope:
    format: str
    version: int
    items_key: str
    max_items: int

    def encode(self, gateway_id: str, items: Iterable[dict[str, Any]]) -> bytes:
        document = {
            "format": self.format,
            "version": self.version,
            "gateway_id": gateway_id,
            self.items_key: list(items),
        }
        return json.dumps(document, separators=(",", ":")).encode()

    def decode(self, body: bytes) -> tuple[str, list[tuple[Any, str]]]:
        """(gateway id, [(raw item, its error path)]); BatchFormatError names what is wrong."""
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BatchFormatError("", "not valid JSON") from exc
        if not isinstance(document, dict) or document.get("format") != self.format:
            raise BatchFormatError("format", f"expected {self.format!r}")
        if document.get("version") != self.version:
            raise BatchFormatError("version", f"expected {self.version}")
        gateway_id = document.get("gateway_id")
        if not isinstance(gateway_id, str) or not is_identifier(gateway_id):
            raise BatchFormatError("gateway_id", "expected an identifier")
        raw = document.get(self.items_key)
        if not isinstance(raw, list) or not 0 < len(raw) <= self.max_items:
            raise BatchFormatError(
                self.items_key, f"expected 1 to {self.max_items} {self.items_key}"
            )
        return gateway_id, [(item, f"{self.items_key}[{i}]") for i, item in enumerate(raw)]
