"""Scopes are grants (RFC 6749 section 3.3): ``readings:GET data-sources:POST``.

One scope token per API and verb, so a consent page and an introspection
answer list exactly what a token may do, in the same words as a grant map.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidScopeError

from edgeward.cloud.errors import InvalidRequest
from edgeward.cloud.identity import grants as grant_maps


def parse(scope: str | None) -> grant_maps.Grants:
    """The grants a scope string names; ``invalid_scope`` for an unknown API or verb."""
    try:
        return grant_maps.parse((scope or "").split(), field="scope")
    except InvalidRequest as exc:
        raise InvalidScopeError(description=exc.message) from exc


def to_scope(grants: grant_maps.Grants) -> str:
    """The canonical scope string of a grant map: sorted, one ``api:VERB`` each."""
    return " ".join(
        f"{api}:{verb}" for api, verbs in grant_maps.to_json(grants).items() for verb in verbs
    )


def every_scope() -> list[str]:
    """Every scope a token may carry (``scopes_supported``, RFC 8414)."""
    return [
        f"{api}:{verb}"
        for api in grant_maps.APIS
        if api not in grant_maps.GATEWAY_ONLY
        for verb in grant_maps.VERBS
    ]
