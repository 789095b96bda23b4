"""Bluetooth Low Energy devices over bleak (BlueZ on Linux).

A :class:`BleDriver` keeps each configured device connected, takes values
from its GATT characteristics by notification or by polled read, and emits
each as ``Reading(source, raw, time, origin="ble://<ADDRESS>/<uuid>")``: one
data source per device, the characteristic named by the origin's UUID.
"""

from edgeward.drivers.ble.config import BleCharacteristic, BleDevice, DeviceMatch, Mode
from edgeward.drivers.ble.driver import BleDriver
from edgeward.drivers.ble.supervisor import Timing

__all__ = ["BleCharacteristic", "BleDevice", "BleDriver", "DeviceMatch", "Mode", "Timing"]
