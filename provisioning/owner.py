"""Who owns the gateway's secrets: the appliance image runs the gateway as user ``edgeward``.

The image (``image/``) starts ``edgeward-gateway.service`` as the system user
``edgeward``, which cannot read root-owned 0600 files. So when provisioning
runs as root and that user exists (or ``--owner USER`` names another), the
secret files the gateway reads (credential, identity key, WireGuard key) and
its data directory are handed to it, still mode 0600/0700: readable by the
gateway and root only. ``provision.json`` and the wg-quick file stay root's:
only the installer and ``wg-quick`` (root) read them.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from edgeward.provisioning.errors import UsageError, WriteError

IMAGE_USER = "edgeward"


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    uid: int
    gid: int

    def give(self, path: Path) -> None:
        """``path`` owned by this user and its primary group, or :class:`WriteError`."""
        try:
            os.chown(path, self.uid, self.gid)
        except OSError as exc:
            raise WriteError(
                f"cannot hand {path} to user {self.name}: {exc.strerror or exc}",
                hint="run as root to give the gateway's files to its user",
            ) from exc


def _lookup(name: str) -> Owner | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Owner(entry.pw_name, entry.pw_uid, entry.pw_gid)


def resolve(requested: str | None) -> Owner | None:
    """``--owner USER`` (which must exist), else ``edgeward`` when root and it exists, else None."""
    if requested is not None:
        owner = _lookup(requested)
        if owner is None:
            raise UsageError(
                f"--owner {requested}: no such user on this system",
                hint="create the gateway's system user first, or leave --owner out",
            )
        return owner
    if os.geteuid() != 0:
        return None
    return _lookup(IMAGE_USER)
