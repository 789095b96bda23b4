"""BLE types: one binary layout per GATT characteristic, the standard one when none is given.

A BLE reading's origin ends with its characteristic's UUID
(``ble://AA:BB:CC:DD:EE:FF/00002a6e-0000-1000-8000-00805f9b34fb``): the
driver says it whole, a type may name it short (``2a6e``), so both sides
compare 128-bit lowercase forms. GATT values are sent least significant
octet first (the GATT Specification Supplement's formats), hence the
layouts' default order DCBA.
"""

from __future__ import annotations

from edgeward.sync.errors import SpecError
from edgeward.sync.reports import ReportRejected
from edgeward.sync.source_types.binary import LayoutDecoder, check_layout
from edgeward.sync.source_types.conversions import Values
from edgeward.sync.source_types.gatt import standard_characteristic
from edgeward.sync.source_types.spec import BinaryField, BleDecoder, Characteristic
from edgeward.sync.source_types.uuids import normalize_uuid

__all__ = ["BleTypeDecoder", "check_ble"]


def _layout(characteristic: Characteristic) -> list[BinaryField] | tuple[BinaryField, ...] | None:
    if characteristic.layout is not None:
        return characteristic.layout
    standard = standard_characteristic(characteristic.uuid)
    return None if standard is None else standard.layout


class BleTypeDecoder:
    """Decodes a characteristic value by the layout of the UUID its origin ends with."""

    def __init__(self, decoder: BleDecoder) -> None:
        check_ble(decoder, "decoder")
        self._layouts: dict[str, LayoutDecoder] = {}
        for characteristic in decoder.characteristics:
            layout = _layout(characteristic)
            assert layout is not None  # check_ble refused it otherwise
            self._layouts[normalize_uuid(characteristic.uuid)] = LayoutDecoder(layout)

    def decode(self, payload: bytes, origin: str) -> Values:
        """The values of ``payload``, read at ``origin``; raises only ReportRejected."""
        uuid = origin.rsplit("/", 1)[-1].lower()
        layout = self._layouts.get(uuid)
        if layout is None:
            try:
                layout = self._layouts.get(normalize_uuid(uuid))
            except ValueError:
                layout = None
        if layout is None:
            raise ReportRejected(
                "undecodable", "no layout for this characteristic", value=uuid[:64]
            )
        return layout.decode(payload)


def check_ble(decoder: BleDecoder, path: str) -> None:
    """Refuse duplicate characteristics, missing non-standard layouts and unreadable ones."""
    seen: dict[str, int] = {}
    for index, characteristic in enumerate(decoder.characteristics):
        here = f"{path}.characteristics[{index}]"
        try:
            uuid = normalize_uuid(characteristic.uuid)
        except ValueError:
            raise SpecError(f"{here}.uuid", "not a UUID") from None
        if uuid in seen:
            raise SpecError(
                f"{here}.uuid", f"the same characteristic as characteristics[{seen[uuid]}]"
            )
        seen[uuid] = index
        if characteristic.layout is None:
            if standard_characteristic(uuid) is None:
                raise SpecError(
                    f"{here}.layout",
                    f"{characteristic.uuid} has no standard format: the layout is needed",
                )
            continue
        if not characteristic.layout:
            raise SpecError(f"{here}.layout", "a layout needs at least one field")
        check_layout(characteristic.layout, f"{here}.layout")
