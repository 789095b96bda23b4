"""Bluetooth UUIDs in the one form the BLE driver and the type decoders compare."""

from __future__ import annotations

import uuid

# Bluetooth Core Specification 5.4, Vol 3, Part B, 2.5.1: the base UUID that
# 16- and 32-bit SIG-assigned UUIDs are short forms of.
_BLUETOOTH_BASE = "-0000-1000-8000-00805f9b34fb"


def normalize_uuid(value: str) -> str:
    """128-bit lowercase, as BlueZ and the BLE driver name UUIDs; ``"2a6e"`` is accepted.

    Raises ValueError for anything that is not a UUID.
    """
    if len(value) == 4:
        value = f"0000{value}{_BLUETOOTH_BASE}"
    elif len(value) == 8:
        value = f"{value}{_BLUETOOTH_BASE}"
    return str(uuid.UUID(value))
