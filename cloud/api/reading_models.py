"""What the readings routes answer, typed for the OpenAPI document and its clients.

A reading's values are the fields its data-source type decodes: numbers,
strings and booleans, by field name (the type says which, once).
"""

from __future__ import annotations

from pydantic import Field

from edgeward.cloud.api.models import Reply, Time

Value = bool | int | float | str


class Reading(Reply):
    gateway_id: str = Field(description="the gateway that uploaded it")
    seq: int = Field(description="its sequence number at that gateway")
    source: str
    time: Time = Field(description="when the device was read (RFC 3339, UTC)")
    values: dict[str, Value]


class ReadingPage(Reply):
    items: list[Reading]
    next_cursor: str | None = Field(
        description="pass as cursor to continue after this page (also when has_more is false, "
        "to fetch newer readings later)"
    )
    has_more: bool


class LatestReadings(Reply):
    items: list[Reading] = Field(description="one per source that has a reading")


class Bucket(Reply):
    source: str
    start: Time = Field(description="the bucket's start; it lasts bucket_seconds")
    fields: dict[str, dict[str, float | int | None]] = Field(
        description="per field, per function (count, min, max, avg, sum, first, last)"
    )


class Aggregates(Reply):
    bucket_seconds: float
    items: list[Bucket] = Field(description="one per source and bucket that holds data")
