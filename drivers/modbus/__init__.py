"""Modbus devices: read requests (blocks) over TCP and RTU (pymodbus 3.x).

What to read is planned from the device's data-source type
(:mod:`edgeward.sync.source_types.modbus`); the drivers only issue the blocks.
"""

from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver

__all__ = ["Block", "ModbusDevice", "ModbusTcpDriver", "Table"]
