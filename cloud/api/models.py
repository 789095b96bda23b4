"""The bases of every body the API reads or writes, and the one error body.

Request bodies refuse fields they do not know (``extra="forbid"``): a field a
client misspells or that the API does not have (``application_id`` where the
API says ``owner``) must be a 422 naming it, never silently dropped while the
request goes on to do something else (issue 17: such a ``POST /v1/tokens``
made a token for the calling user).

Response bodies forbid unknown fields too: a route that returns a key its
model lacks fails in tests (a 500 from FastAPI's response validation)
instead of the document quietly disagreeing with the wire.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from edgeward.cloud.identity import grants as grant_maps


class RequestBody(BaseModel):
    """A JSON body the API reads: unknown fields are refused with 422."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    """A JSON body the API answers with: every field it carries is documented."""

    model_config = ConfigDict(extra="forbid")


# The API shows times as RFC 3339 UTC strings (edgeward.sync.clock.format_us);
# kept as strings so the response model does not reformat them.
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
GrantMap = Annotated[
    dict[str, list[str]],
    Field(description='API name to the HTTP verbs granted on it: {"readings": ["GET"]}'),
]

# What a grant map may name, in the document only: grants.parse checks it and
# names the unknown API or verb in its own words (field grants.<api>).
RequestGrantMap = Annotated[
    dict[str, list[str]],
    Field(
        description='API name to the HTTP verbs to grant on it: {"readings": ["GET"]}',
        json_schema_extra={
            "propertyNames": {"enum": list(grant_maps.APIS)},
            "additionalProperties": {
                "type": "array",
                "items": {"enum": list(grant_maps.VERBS)},
            },
        },
    ),
]


def documented_pattern(pattern: str) -> JsonDict:
    """``json_schema_extra`` for a rule the route checks itself, with its own message."""
    return {"pattern": pattern}


class ErrorDetail(Reply):
    code: str = Field(description="stable, machine-readable: not_found, invalid_request, ...")
    message: str = Field(description="for people; may change")
    field: str | None = Field(
        None, description="the parameter or body field at fault (body.name, cursor, ...)"
    )


class Error(Reply):
    """Every failure of the API (except the OAuth 2 endpoints, which answer RFC 6749's)."""

    error: ErrorDetail


class Owner(Reply):
    kind: str = Field(description="user, application or gateway")
    id: str
