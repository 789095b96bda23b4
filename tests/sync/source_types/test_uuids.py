"""Bluetooth UUIDs normalise to the 128-bit form the BLE driver names them by."""

from __future__ import annotations

import pytest

from edgeward.sync.source_types.uuids import normalize_uuid


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2A6E", "00002a6e-0000-1000-8000-00805f9b34fb"),
        ("12345678", "12345678-0000-1000-8000-00805f9b34fb"),
        ("0000181A-0000-1000-8000-00805F9B34FB", "0000181a-0000-1000-8000-00805f9b34fb"),
    ],
)
def test_uuids_normalize_to_the_128_bit_form_the_ble_driver_names(
    given: str, expected: str
) -> None:
    assert normalize_uuid(given) == expected


def test_a_uuid_that_is_none_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalize_uuid("not-a-uuid")
