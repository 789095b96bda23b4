"""The authenticated caller, as every route sees it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from edgeward.cloud.identity.grants import Grants

PRINCIPAL_KINDS = ("user", "application", "gateway")


def new_id(prefix: str) -> str:
    """Short random ids with a readable kind prefix: ``usr-3f9a1c2b7d4e``."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # one of PRINCIPAL_KINDS
    id: str
    account_id: str
    token_id: str
    # What this token may do now: its own grants narrowed to what the owner holds.
    grants: Grants = field(default_factory=dict)
    # What the owner holds; a token it creates may not exceed this.
    held: Grants = field(default_factory=dict)

    def allows(self, api: str, verb: str) -> bool:
        return verb in self.grants.get(api, frozenset())

    @property
    def reference(self) -> str:
        """How audit events name the actor."""
        return f"{self.kind}:{self.id}"
