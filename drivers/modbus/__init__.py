"""Modbus devices: register maps and the TCP transport (pymodbus 3.x)."""

from edgeward.drivers.modbus.register_map import (
    Block,
    RegisterField,
    RegisterMap,
    Table,
    ValueType,
)
from edgeward.drivers.modbus.tcp import ModbusDevice, ModbusTcpDriver

__all__ = [
    "Block",
    "ModbusDevice",
    "ModbusTcpDriver",
    "RegisterField",
    "RegisterMap",
    "Table",
    "ValueType",
]
