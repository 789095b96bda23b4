"""The built-in data-source types every account can use: ``builtin:<name>``.

They live in the shared contract because both sides need them: the cloud
lists and signs them into registries, and the installer's tools on the
gateway (``edgeward devices add`` and ``scan``) know them without asking.
Each is an ordinary type document, validated like an account's own, and
carries examples that a test decodes.
"""

from __future__ import annotations

from typing import Any

from edgeward.sync.source_types.nmea import NMEA_0183

BUILTIN_PREFIX = "builtin:"

MODBUS_POWER_METER: dict[str, Any] = {
    "transport": "modbus",
    "auth_mode": "bound",
    "decoder": {
        "registers": [
            {"name": "voltage", "address": 0, "type": "float32"},
            {"name": "current", "address": 2, "type": "float32"},
            {"name": "power", "address": 4, "type": "float32"},
            {"name": "energy", "address": 6, "type": "uint32"},
            {"name": "frequency", "address": 8, "type": "uint16", "scale": 0.01},
        ]
    },
    "fields": {
        "voltage": {"unit": "V", "min": 0, "max": 1000},
        "current": {"unit": "A", "min": 0, "max": 10_000},
        "power": {"unit": "W", "min": -10_000_000, "max": 10_000_000},
        "energy": {"unit": "Wh", "min": 0},
        "frequency": {"unit": "Hz", "min": 40, "max": 70},
    },
    "examples": [
        {
            # 230.5 V, 4.25 A, 979.625 W, 123456 Wh, 50.01 Hz
            "hex": "43668000408800004474e8000001e2401389",
            "values": {
                "voltage": 230.5,
                "current": 4.25,
                "power": 979.625,
                "energy": 123456,
                "frequency": 50.01,
            },
        }
    ],
}

MQTT_JSON_HMAC: dict[str, Any] = {
    "transport": "mqtt",
    "auth_mode": "hmac",
    "decoder": {
        "format": "json",
        "fields": [
            {"name": "temperature", "path": "t"},
            {"name": "humidity", "path": "h"},
        ],
    },
    "fields": {
        "temperature": {"unit": "°C", "min": -60, "max": 120},
        "humidity": {"unit": "%", "min": 0, "max": 100},
    },
    "examples": [
        {"text": '{"t": 21.5, "h": 40}', "values": {"temperature": 21.5, "humidity": 40.0}}
    ],
}

BLE_ENVIRONMENTAL_SENSOR: dict[str, Any] = {
    "transport": "ble",
    "auth_mode": "bound",
    # The Bluetooth SIG's formats, known by UUID: no layout to write.
    "decoder": {
        "service": "181a",
        "characteristics": [
            {"uuid": "2a6e"},
            {"uuid": "2a6f"},
            {"uuid": "2a6d", "mode": "read"},
            {"uuid": "2a19", "mode": "read"},
        ],
    },
    "examples": [
        {"characteristic": "2a6e", "hex": "6efb", "values": {"temperature": -11.7}},
        {"characteristic": "2a6e", "hex": "0080", "values": {}},
        {"characteristic": "2a6f", "hex": "8815", "values": {"humidity": 55.12}},
        {"characteristic": "2a6d", "hex": "06760f00", "values": {"pressure": 101325.4}},
        {"characteristic": "2a19", "hex": "57", "values": {"battery_level": 87}},
    ],
}

BUILTIN: dict[str, tuple[str, dict[str, Any]]] = {
    "builtin:modbus-power-meter": (
        "Modbus power meter (Edgeward register map)",
        MODBUS_POWER_METER,
    ),
    "builtin:mqtt-json-hmac": ("MQTT JSON report signed with HMAC-SHA256", MQTT_JSON_HMAC),
    "builtin:nmea-0183": ("NMEA 0183 GPS receiver (GGA, RMC, GLL, VTG, GSA, GSV)", NMEA_0183),
    "builtin:ble-environmental-sensor": (
        "BLE environmental sensor (Bluetooth SIG Environmental Sensing and Battery)",
        BLE_ENVIRONMENTAL_SENSOR,
    ),
}
