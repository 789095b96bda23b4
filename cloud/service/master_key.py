"""``edgeward cloud admin rotate-master-key``: every value the keychain keyring seals.

The keychain's secrets and the connections' vendor secrets and tokens are
wrapped by one keyring. The list of them lives here, above both rooms:
connections use the keychain, and the keychain never imports them back.
"""

from __future__ import annotations

from edgeward.cloud.connections import store as connections
from edgeward.cloud.connections import vendors
from edgeward.cloud.keychain.keyring import Keyring
from edgeward.cloud.keychain.rotation import KEYCHAIN_TABLES, Rotation, SealedTable
from edgeward.cloud.keychain.rotation import rotate_master_key as rotate
from edgeward.cloud.storage.database import Database

SEALED_TABLES: tuple[SealedTable, ...] = (*KEYCHAIN_TABLES, vendors.SEALED, connections.SEALED)


def rotate_master_key(database: Database, keyring: Keyring) -> Rotation:
    """A new current master key; every wrapped data key in :data:`SEALED_TABLES` re-wrapped."""
    return rotate(database, keyring, SEALED_TABLES)
