"""NMEA 0183 GNSS receivers as a data-source type: the built-in document installers start from.

A receiver writes ASCII sentences at 4800 or 9600 baud, one per line ending
CR LF, each ``$`` + talker + sentence + comma-separated fields + ``*`` +
the XOR of every byte between ``$`` and ``*`` in two hex digits (NMEA 0183
v4.11, section 5.3). The talker says which system computed the sentence
(GP GPS, GL GLONASS, GA Galileo, GB/BD BeiDou, GQ QZSS, GN several), so each
record's tag takes any two-letter talker.

Decoded here (field positions after the tag, NMEA 0183 v4.11 and the
u-blox M8 receiver description, which documents each field's use):

- GGA fix data: time, position, fix quality, satellites, HDOP, altitude
  above mean sea level, geoid separation, DGPS age and station;
- RMC recommended minimum: time, status, position, speed, course, date,
  magnetic variation, mode (2.3+) and navigational status (4.1+);
- GLL position: position, time, status (2.0+), mode (2.3+);
- VTG course and speed: true and magnetic course, knots, km/h, mode;
- GSA DOP and active satellites: selection mode, fix type, PDOP/HDOP/VDOP;
- GSV satellites in view: the count (the per-satellite groups are left out).

Positions are signed decimal degrees (south and west negative), times
``HH:MM:SS[.f]`` UTC, dates ``YYYY-MM-DD``. A receiver without a fix sends
empty fields: they are absent, not refused. Other sentences (TXT, ZDA,
proprietary ``$P...``) have no record and are passed over (``"unmatched":
"ignore"``): counted as ignored, not refused, since a receiver sends them in
the ordinary course. Their checksum is still checked first.
"""

from __future__ import annotations

from typing import Any

_MODES = ["A", "D", "E", "F", "M", "N", "P", "R", "S"]  # 2.3+ positioning modes (4.1: F, P, R)


def _field(name: str, at: int, kind: str = "float", **keys: Any) -> dict[str, Any]:
    """A field the receiver may leave empty (no fix yet): absent rather than refused."""
    return {"name": name, "at": at, "type": kind, "required": False, **keys}


def _position(at: int) -> list[dict[str, Any]]:
    """Latitude, its N/S, longitude, its E/W, from ``at`` on."""
    return [
        _field("latitude", at, convert="degrees-minutes", hemisphere="latitude_hemisphere"),
        _field("latitude_hemisphere", at + 1, "string", emit=False),
        _field("longitude", at + 2, convert="degrees-minutes", hemisphere="longitude_hemisphere"),
        _field("longitude_hemisphere", at + 3, "string", emit=False),
    ]


def _record(name: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    sentence = {"name": "sentence", "at": 0, "type": "string"}
    return {"name": name, "tag": f"[A-Z]{{2}}{name}", "fields": [sentence, *fields]}


_STATUS = ["A", "V"]  # A valid, V void (navigation receiver warning)

GGA = _record(
    "GGA",
    [
        _field("time", 1, "time"),
        *_position(2),
        {"name": "fix_quality", "at": 6, "type": "integer"},
        _field("satellites", 7, "integer"),
        _field("hdop", 8),
        _field("altitude", 9),
        _field("geoid_separation", 11),
        _field("dgps_age", 13),
        _field("dgps_station", 14, "string"),
    ],
)
RMC = _record(
    "RMC",
    [
        _field("time", 1, "time"),
        {"name": "status", "at": 2, "type": "enum", "values": _STATUS},
        *_position(3),
        _field("speed_knots", 7),
        _field("course", 8),
        _field("date", 9, "date", format="%d%m%y"),
        _field("magnetic_variation", 10),
        _field("magnetic_variation_direction", 11, "enum", values=["E", "W"]),
        _field("mode", 12, "enum", values=_MODES),
        _field("navigation_status", 13, "enum", values=["S", "C", "U", "V"]),
    ],
)
GLL = _record(
    "GLL",
    [
        *_position(1),
        _field("time", 5, "time"),
        _field("status", 6, "enum", values=_STATUS),
        _field("mode", 7, "enum", values=_MODES),
    ],
)
VTG = _record(
    "VTG",
    [
        _field("course", 1),
        _field("course_magnetic", 3),
        _field("speed_knots", 5),
        _field("speed_kmh", 7),
        _field("mode", 9, "enum", values=_MODES),
    ],
)
GSA = _record(
    "GSA",
    [
        _field("selection_mode", 1, "enum", values=["M", "A"]),
        _field("fix_type", 2, "integer"),
        _field("pdop", 15),
        _field("hdop", 16),
        _field("vdop", 17),
    ],
)
GSV = _record("GSV", [_field("satellites_in_view", 3, "integer")])


def _meta(unit: str | None, low: float | None, high: float | None, text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"description": text}
    if unit is not None:
        meta["unit"] = unit
    if low is not None:
        meta["min"] = low
    if high is not None:
        meta["max"] = high
    return meta


FIELDS = {
    "sentence": _meta(None, None, None, "talker and sentence, e.g. GPGGA, GNRMC"),
    "time": _meta(None, None, None, "UTC time of the fix, HH:MM:SS[.f]"),
    "date": _meta(None, None, None, "UTC date, YYYY-MM-DD (RMC)"),
    "latitude": _meta("deg", -90, 90, "WGS 84 latitude, south negative"),
    "longitude": _meta("deg", -180, 180, "WGS 84 longitude, west negative"),
    "fix_quality": _meta(
        None, 0, 8, "GGA: 0 none, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 estimated"
    ),
    "satellites": _meta(None, 0, 99, "satellites used in the fix"),
    "hdop": _meta(None, 0, 99.99, "horizontal dilution of precision"),
    "pdop": _meta(None, 0, 99.99, "position dilution of precision"),
    "vdop": _meta(None, 0, 99.99, "vertical dilution of precision"),
    "altitude": _meta("m", -1000, 20000, "antenna altitude above mean sea level"),
    "geoid_separation": _meta("m", -200, 200, "geoid above the WGS 84 ellipsoid"),
    "dgps_age": _meta("s", 0, None, "age of the differential corrections"),
    "dgps_station": _meta(None, None, None, "differential reference station id"),
    "status": _meta(None, None, None, "A valid, V navigation receiver warning"),
    "speed_knots": _meta("kn", 0, None, "speed over ground"),
    "speed_kmh": _meta("km/h", 0, None, "speed over ground"),
    "course": _meta("deg", 0, 360, "course over ground, true north"),
    "course_magnetic": _meta("deg", 0, 360, "course over ground, magnetic north"),
    "magnetic_variation": _meta("deg", 0, 180, "magnetic variation (its direction apart)"),
    "magnetic_variation_direction": _meta(None, None, None, "E or W"),
    "mode": _meta(None, None, None, "A autonomous, D differential, E estimated, N no fix, ..."),
    "navigation_status": _meta(None, None, None, "S safe, C caution, U unsafe, V not valid"),
    "selection_mode": _meta(None, None, None, "GSA: M manual, A automatic 2D/3D"),
    "fix_type": _meta(None, 1, 3, "GSA: 1 no fix, 2 2D, 3 3D"),
    "satellites_in_view": _meta(None, 0, 255, "GSV: satellites in view"),
}

EXAMPLES: list[dict[str, Any]] = [
    {
        "text": "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
        "values": {
            "sentence": "GPGGA",
            "time": "12:35:19",
            "latitude": 48.1173,
            "longitude": 11.5166667,
            "fix_quality": 1,
            "satellites": 8,
            "hdop": 0.9,
            "altitude": 545.4,
            "geoid_separation": 46.9,
        },
    },
    {
        "text": "$GPGGA,235959.50,3352.1280,S,15112.5600,E,2,10,0.8,25.3,M,22.1,M,3.2,0120*6F",
        "values": {
            "sentence": "GPGGA",
            "time": "23:59:59.5",
            "latitude": -33.8688,
            "longitude": 151.2093333,
            "fix_quality": 2,
            "satellites": 10,
            "hdop": 0.8,
            "altitude": 25.3,
            "geoid_separation": 22.1,
            "dgps_age": 3.2,
            "dgps_station": "0120",
        },
    },
    {
        "text": "$GPGGA,,,,,,0,00,99.99,,,,,,*48",
        "values": {"sentence": "GPGGA", "fix_quality": 0, "satellites": 0, "hdop": 99.99},
    },
    {
        "text": "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
        "values": {
            "sentence": "GPRMC",
            "time": "12:35:19",
            "status": "A",
            "latitude": 48.1173,
            "longitude": 11.5166667,
            "speed_knots": 22.4,
            "course": 84.4,
            "date": "1994-03-23",
            "magnetic_variation": 3.1,
            "magnetic_variation_direction": "W",
        },
    },
    {
        "text": "$GNRMC,001031.00,A,4404.13993,N,12118.86023,W,0.146,,100117,,,A*7B",
        "values": {
            "sentence": "GNRMC",
            "time": "00:10:31",
            "status": "A",
            "latitude": 44.0689988,
            "longitude": -121.3143372,
            "speed_knots": 0.146,
            "date": "2017-01-10",
            "mode": "A",
        },
    },
    {
        "text": "$GPGLL,4916.45,N,12311.12,W,225444,A,*1D",
        "values": {
            "sentence": "GPGLL",
            "latitude": 49.2741667,
            "longitude": -123.1853333,
            "time": "22:54:44",
            "status": "A",
        },
    },
    {
        "text": "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48",
        "values": {
            "sentence": "GPVTG",
            "course": 54.7,
            "course_magnetic": 34.4,
            "speed_knots": 5.5,
            "speed_kmh": 10.2,
        },
    },
    {
        "text": "$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1*39",
        "values": {
            "sentence": "GPGSA",
            "selection_mode": "A",
            "fix_type": 3,
            "pdop": 2.5,
            "hdop": 1.3,
            "vdop": 2.1,
        },
    },
    {
        "text": "$GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45*75",
        "values": {"sentence": "GPGSV", "satellites_in_view": 8},
    },
    # One digit of the first example's latitude changed, its checksum kept.
    {
        "text": "$GPGGA,123519,4807.039,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
        "refused": "checksum",
    },
    {
        "text": "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        "refused": "checksum",
    },
    {"text": "$GPTXT,01,01,02,ANTSTATUS=OK*3B", "ignored": True},
]

NMEA_0183: dict[str, Any] = {
    "transport": "serial",
    "auth_mode": "bound",  # a receiver can't sign: it is bound to its port
    "decoder": {
        "format": "delimited",
        "separator": ",",
        "tag_at": 0,
        # XOR of the bytes between $ and * (NMEA 0183 v4.11 section 5.3.1)
        "checksum": {"algorithm": "xor8", "marker": "*", "skip": 1},
        "records": [GGA, RMC, GLL, VTG, GSA, GSV],
        # Receivers also send sentences these records don't read ($GPTXT at start,
        # $GPZDA, proprietary $P...): passed over, not refused as undecodable.
        "unmatched": "ignore",
        # A sentence is at most 82 characters with $ and CR LF (section 5.3); some
        # receivers' proprietary sentences are longer, hence the margin.
        "framing": {"kind": "line", "delimiter": "\r\n", "max_length": 256},
    },
    "fields": FIELDS,
    "examples": EXAMPLES,
}
