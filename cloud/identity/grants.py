"""Grant maps: API name to the HTTP verbs allowed on it.

The API names are the route families of the cloud. A grant request naming an
unknown API or verb is refused with the bad entry named, so a typo never
silently grants nothing (or something else).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edgeward.cloud.errors import InvalidRequest

VERBS = ("GET", "POST", "PUT", "DELETE")

APIS = (
    "accounts",
    "users",
    "applications",
    "tokens",
    "gateways",
    "data-source-types",
    "data-sources",
    "readings",
    "security-events",
    "webhooks",
    "provisioning",
    "audit",
    "ingest",
    "registry",
    "gateway-keys",
    "directory",
    "keychain",
    "proxy",
    "connections",
    "oauth-clients",
)
# What only gateways do: send readings, pull their data-source registry, rotate their keys.
GATEWAY_ONLY = ("ingest", "registry", "gateway-keys")

Grants = dict[str, frozenset[str]]

ALL: Grants = {api: frozenset(VERBS) for api in APIS if api not in GATEWAY_ONLY}
READ_ONLY: Grants = {api: frozenset({"GET"}) for api in APIS if api not in GATEWAY_ONLY}

# What each user role holds. Only gateways ingest and pull registries.
ROLE_GRANTS: dict[str, Grants] = {
    "owner": ALL,
    "admin": {**ALL, "accounts": frozenset({"GET", "PUT"})},
    "member": {
        # Not the audit log, nor the directory settings (its servers, groups, service
        # DN); members read, but do not send calls with the account's keychain secrets.
        **{
            api: verbs
            for api, verbs in READ_ONLY.items()
            if api not in ("audit", "directory", "proxy")
        },
        "tokens": frozenset(VERBS),
    },
    "installer": {
        "accounts": frozenset({"GET"}),
        "tokens": frozenset(VERBS),
        "gateways": frozenset(VERBS),
        "provisioning": frozenset(VERBS),
        "data-source-types": frozenset({"GET"}),
        "data-sources": frozenset({"GET", "POST", "PUT"}),
        "readings": frozenset({"GET"}),
    },
}
ROLES = tuple(ROLE_GRANTS)
GATEWAY_GRANTS: Grants = {
    "ingest": frozenset({"POST"}),
    "registry": frozenset({"GET"}),
    "gateway-keys": frozenset({"POST"}),
}


def parse(entries: Mapping[str, Iterable[str]] | Iterable[str], field: str = "grants") -> Grants:
    """Validate a grant map (``{"readings": ["GET"]}``) or specs (``["readings:GET,POST"]``)."""
    pairs: list[tuple[str, list[str]]]
    if isinstance(entries, Mapping):
        pairs = [(api, list(verbs)) for api, verbs in entries.items()]
    else:
        pairs = []
        for spec in entries:
            api, separator, verb_list = spec.partition(":")
            if not separator:
                raise InvalidRequest(
                    f"grant {spec!r}: expected API:VERB[,VERB] such as readings:GET", field=field
                )
            pairs.append((api, verb_list.split(",")))
    grants: dict[str, set[str]] = {}
    for api, verbs in pairs:
        if api not in APIS:
            raise InvalidRequest(
                f"unknown API {api!r}; known: {', '.join(APIS)}", field=f"{field}.{api}"
            )
        for verb in verbs:
            if verb not in VERBS:
                raise InvalidRequest(
                    f"unknown verb {verb!r} for {api!r}; allowed: {', '.join(VERBS)}",
                    field=f"{field}.{api}",
                )
            grants.setdefault(api, set()).add(verb)
    return {api: frozenset(verbs) for api, verbs in grants.items()}


def intersect(first: Mapping[str, frozenset[str]], second: Mapping[str, frozenset[str]]) -> Grants:
    """What both grant: a token's grants narrowed to what its owner holds now."""
    narrowed = {api: verbs & second.get(api, frozenset()) for api, verbs in first.items()}
    return {api: verbs for api, verbs in narrowed.items() if verbs}


def excess(wanted: Mapping[str, frozenset[str]], held: Mapping[str, frozenset[str]]) -> list[str]:
    """``api:VERB`` entries of ``wanted`` that ``held`` does not cover, sorted."""
    return sorted(
        f"{api}:{verb}"
        for api, verbs in wanted.items()
        for verb in verbs
        if verb not in held.get(api, frozenset())
    )


def to_json(grants: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    return {api: sorted(verbs, key=VERBS.index) for api, verbs in sorted(grants.items()) if verbs}


def from_json(stored: Mapping[str, Iterable[str]]) -> Grants:
    return {api: frozenset(verbs) for api, verbs in stored.items()}
