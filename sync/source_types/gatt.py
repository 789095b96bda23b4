"""The Bluetooth SIG's standard characteristic formats, so a type can name a UUID and no layout.

Formats from the GATT Specification Supplement (GSS; the SIG's earlier
GATT XML characteristic definitions for the ones it carries over): the
environmental sensing characteristics (Environmental Sensing Service
1.0), the Health Thermometer's Temperature Measurement, the Battery Level
and the common electrical and air-quality values. GSS values are
little-endian, and a GSS value "represented" as M x 10^d x 2^b is the
raw integer times ``scale`` = 10^d x 2^b here (M is 1 for all of these).
A "value is not known" (or "not valid") code makes the field absent.

Temperature Celsius (0x2A1F) and Temperature Fahrenheit (0x2A20) are in
the SIG's assigned numbers but no longer described by the GSS; their
format (sint16, 0.1 degree) is the one devices and the older definitions
use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edgeward.sync.source_types.spec import BinaryField, BinaryType, FieldMeta, Presence, Scalar
from edgeward.sync.source_types.uuids import normalize_uuid

__all__ = ["STANDARD", "StandardCharacteristic", "standard_characteristic"]


@dataclass(frozen=True)
class StandardCharacteristic:
    """A characteristic's standard value format and what its fields mean."""

    name: str
    layout: tuple[BinaryField, ...]
    fields: dict[str, FieldMeta] = field(default_factory=dict)


def _single(
    title: str,
    name: str,
    kind: BinaryType,
    unit: str | None,
    scale: float = 1.0,
    unknown: Sequence[Scalar] = (),
    low: float | None = None,
    high: float | None = None,
) -> StandardCharacteristic:
    """A characteristic whose value is one number."""
    value = BinaryField(name=name, type=kind, scale=scale, unknown=list(unknown))
    meta = FieldMeta(unit=unit, min=low, max=high, description=f"{title} (GATT)")
    return StandardCharacteristic(title, (value,), {name: meta})


def _temperature_measurement(title: str) -> StandardCharacteristic:
    """Health Thermometer Service 1.0 and the GSS: flags, a FLOAT in °C or °F by flag bit 0,
    a Date Time (0x2A08) when bit 1 is set, a Temperature Type (0x2A1D) when bit 2 is."""

    def when(bit: int, is_set: bool = True) -> Presence:
        return Presence(field="flags", bit=bit, set=is_set)

    stamp = when(1)
    layout = (
        BinaryField(name="flags", type="uint8"),
        BinaryField(name="temperature", type="medfloat32", when=when(0, False)),
        BinaryField(name="temperature_fahrenheit", type="medfloat32", when=when(0)),
        # Date Time: 0 is "not known" for the year, the month and the day.
        BinaryField(name="timestamp_year", type="uint16", when=stamp, unknown=[0]),
        BinaryField(name="timestamp_month", type="uint8", when=stamp, unknown=[0]),
        BinaryField(name="timestamp_day", type="uint8", when=stamp, unknown=[0]),
        BinaryField(name="timestamp_hours", type="uint8", when=stamp),
        BinaryField(name="timestamp_minutes", type="uint8", when=stamp),
        BinaryField(name="timestamp_seconds", type="uint8", when=stamp),
        BinaryField(name="temperature_type", type="uint8", when=when(2)),
    )
    fields = {
        "flags": FieldMeta(description="bit 0 °F, bit 1 time stamp, bit 2 temperature type"),
        "temperature": FieldMeta(unit="°C", description=f"{title}, Celsius"),
        "temperature_fahrenheit": FieldMeta(unit="°F", description=f"{title}, Fahrenheit"),
        "timestamp_year": FieldMeta(min=1582, max=9999),
        "timestamp_month": FieldMeta(min=1, max=12),
        "timestamp_day": FieldMeta(min=1, max=31),
        "timestamp_hours": FieldMeta(min=0, max=23),
        "timestamp_minutes": FieldMeta(min=0, max=59),
        "timestamp_seconds": FieldMeta(min=0, max=59),
        "temperature_type": FieldMeta(
            description="where it was measured (ISO/IEEE 11073-10408): 1 armpit, 2 body, "
            "3 ear, 4 finger, 5 gastro-intestinal tract, 6 mouth, 7 rectum, 8 toe, 9 tympanum"
        ),
    }
    return StandardCharacteristic(title, layout, fields)


_NOT_KNOWN_16 = (0xFFFF,)
_SINT16_NOT_KNOWN = (-0x8000,)

_BY_SHORT_UUID: dict[str, StandardCharacteristic] = {
    "2a19": _single("Battery Level", "battery_level", "uint8", "%", low=0, high=100),
    "2a1c": _temperature_measurement("Temperature Measurement"),
    "2a1e": _temperature_measurement("Intermediate Temperature"),
    "2a1f": _single("Temperature Celsius", "temperature", "int16", "°C", 0.1),
    "2a20": _single("Temperature Fahrenheit", "temperature_fahrenheit", "int16", "°F", 0.1),
    "2a2c": _single(
        "Magnetic Declination", "magnetic_declination", "uint16", "°", 0.01, low=0, high=359.99
    ),
    "2a6c": _single("Elevation", "elevation", "int24", "m", 0.01),
    "2a6d": _single("Pressure", "pressure", "uint32", "Pa", 0.1),
    "2a6e": _single(
        "Temperature", "temperature", "int16", "°C", 0.01, _SINT16_NOT_KNOWN, -273.15, 327.67
    ),
    "2a6f": _single("Humidity", "humidity", "uint16", "%", 0.01, _NOT_KNOWN_16, 0, 100),
    "2a70": _single("True Wind Speed", "true_wind_speed", "uint16", "m/s", 0.01),
    "2a71": _single(
        "True Wind Direction", "true_wind_direction", "uint16", "°", 0.01, low=0, high=359.99
    ),
    "2a72": _single("Apparent Wind Speed", "apparent_wind_speed", "uint16", "m/s", 0.01),
    "2a73": _single(
        "Apparent Wind Direction",
        "apparent_wind_direction",
        "uint16",
        "°",
        0.01,
        low=0,
        high=359.99,
    ),
    "2a74": _single("Gust Factor", "gust_factor", "uint8", None, 0.1),
    "2a75": _single("Pollen Concentration", "pollen_concentration", "uint24", "1/m³"),
    "2a76": _single("UV Index", "uv_index", "uint8", None),
    "2a77": _single("Irradiance", "irradiance", "uint16", "W/m²", 0.1),
    "2a78": _single("Rainfall", "rainfall", "uint16", "m", 0.001),
    "2a79": _single("Wind Chill", "wind_chill", "int8", "°C"),
    "2a7a": _single("Heat Index", "heat_index", "int8", "°C"),
    "2a7b": _single("Dew Point", "dew_point", "int8", "°C"),
    "2aee": _single(
        "Electric Current", "electric_current", "uint16", "A", 0.01, _NOT_KNOWN_16, 0, 655.34
    ),
    "2afb": _single("Illuminance", "illuminance", "uint24", "lx", 0.01, (0xFFFFFF,), 0, 167772.14),
    "2b0d": _single("Temperature 8", "temperature", "int8", "°C", 0.5, (0x7F,), -64, 63),
    # Voltage: M = 1, d = 0, b = -6 (1/64 V).
    "2b18": _single("Voltage", "voltage", "uint16", "V", 1 / 64, _NOT_KNOWN_16, low=0),
    "2b8c": _single(
        # 0xFFFE means "65534 or greater" and is kept as 65534.
        "CO2 Concentration",
        "co2_concentration",
        "uint16",
        "ppm",
        1,
        _NOT_KNOWN_16,
        0,
    ),
    # High Temperature: b = -1 (0.5 °C); 0x8000 not known, 0x8001 not valid.
    "2bdf": _single(
        "High Temperature", "temperature", "int16", "°C", 0.5, (-0x8000, -0x7FFF), -273
    ),
    # Voltage Frequency: 0 is DC; 0xFFFE not valid, 0xFFFF not known.
    "2be8": _single(
        "Voltage Frequency", "voltage_frequency", "uint16", "Hz", 1, (0xFFFE, 0xFFFF), 0
    ),
}

STANDARD: dict[str, StandardCharacteristic] = {
    normalize_uuid(short): characteristic for short, characteristic in _BY_SHORT_UUID.items()
}


def standard_characteristic(uuid: str) -> StandardCharacteristic | None:
    """The standard format of a characteristic (16-, 32- or 128-bit UUID), or None."""
    try:
        return STANDARD.get(normalize_uuid(uuid.lower()))
    except ValueError:
        return None
