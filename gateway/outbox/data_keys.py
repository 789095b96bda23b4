"""The outbox's data keys: one file, mode 0600, in the gateway's data directory.

Every reading is sealed with AES-256-GCM (NIST SP 800-38D) under the
keyring's *current* key before it touches the disk, so a stolen SD card or
a copied ``outbox.db`` shows no reading. The key id is stored beside each
row; rotation adds a new current key and keeps the old ones until no row
(pending or set aside) is sealed under them, so rotating never strands data.

The file is JSON::

    {"version": 1, "current": 2,
     "keys": {"1": {"key": "<base64>", "created_us": ...}, "2": {...}}}

It is written to a temporary file (0600 from birth) and renamed over the old
one after an fsync, so a crash mid-write leaves the previous keyring whole.
Keys are never logged: :class:`DataKey` hides its bytes from ``repr``.

Nonces are 96 random bits per row (SP 800-38D §8.2.2). That bounds one key
to 2**32 rows; ``key_rotation_days`` (default 30) keeps a gateway far below
it at the rates one site produces.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.gateway.errors import KeyringError, SealError
from edgeward.gateway.files import write_atomic
from edgeward.sync.clock import now_us

KEYRING_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
# Domain separation: a ciphertext of the outbox can't be replayed as anything else.
AAD_PREFIX = b"edgeward.outbox.v1"


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: int
    created_us: int
    secret: bytes = field(repr=False)
    cipher: AESGCM = field(repr=False, compare=False)


def associated_data(seq: int, key_id: int) -> bytes:
    """Binds a ciphertext to its row: moved to another seq, it no longer opens."""
    return AAD_PREFIX + seq.to_bytes(8, "big") + key_id.to_bytes(4, "big")


class Keyring:
    def __init__(self, path: Path, keys: dict[int, DataKey], current: int) -> None:
        self.path = path
        self._keys = keys
        self._current = current

    @classmethod
    def load_or_create(cls, path: Path) -> Keyring:
        """Read the keyring, or create it with a first key if the gateway never had one."""
        if not path.exists():
            keyring = cls(path, {}, 0)
            keyring.rotate()
            return keyring
        return cls._load(path)

    @classmethod
    def _load(cls, path: Path) -> Keyring:
        try:
            mode = path.stat().st_mode
            document = json.loads(path.read_bytes())
            keys = {
                int(key_id): _data_key(int(key_id), entry)
                for key_id, entry in document["keys"].items()
            }
            current = int(document["current"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # The exception text could quote the file; name only its type.
            raise KeyringError(f"{path}: unreadable keyring ({type(exc).__name__})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(
                f"{path}: the keyring must be readable by its owner only (chmod 600), "
                f"found mode {stat.S_IMODE(mode):04o}"
            )
        if current not in keys:
            raise KeyringError(f"{path}: the current key {current} is not in the keyring")
        return cls(path, keys, current)

    @property
    def current(self) -> DataKey:
        return self._keys[self._current]

    @property
    def key_ids(self) -> list[int]:
        return sorted(self._keys)

    def rotate(self) -> DataKey:
        """Make a fresh key current; older keys stay until :meth:`retire` drops them."""
        key_id = max(self._keys, default=0) + 1
        self._keys[key_id] = _new_key(key_id, AESGCM.generate_key(bit_length=KEY_BYTES * 8))
        self._current = key_id
        self._save()
        return self._keys[key_id]

    def retire(self, in_use: set[int]) -> list[int]:
        """Forget the old keys no row is sealed under; return their ids."""
        gone = [k for k in self._keys if k != self._current and k not in in_use]
        if gone:
            for key_id in gone:
                del self._keys[key_id]
            self._save()
        return gone

    def seal(self, seq: int, plaintext: bytes) -> tuple[int, bytes]:
        """(key id, nonce || ciphertext || tag) of ``plaintext`` for row ``seq``."""
        key = self.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.cipher.encrypt(nonce, plaintext, associated_data(seq, key.key_id))
        return key.key_id, nonce + sealed

    def open(self, seq: int, key_id: int, blob: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise SealError(seq, f"sealed under key {key_id}, which the keyring lacks")
        try:
            return key.cipher.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data(seq, key_id)
            )
        except InvalidTag:
            raise SealError(seq, "authentication failed (tampered, moved or wrong key)") from None

    def _save(self) -> None:
        document = {
            "version": KEYRING_VERSION,
            "current": self._current,
            "keys": {
                str(key.key_id): {
                    "key": base64.b64encode(key.secret).decode(),
                    "created_us": key.created_us,
                }
                for key in self._keys.values()
            },
        }
        write_atomic(self.path, json.dumps(document, indent=1).encode(), mode=0o600)


def _new_key(key_id: int, secret: bytes) -> DataKey:
    return DataKey(key_id=key_id, created_us=now_us(), secret=secret, cipher=AESGCM(secret))


def _data_key(key_id: int, entry: dict[str, object]) -> DataKey:
    secret = base64.b64decode(str(entry["key"]), validate=True)
    if len(secret) != KEY_BYTES:
        raise ValueError("wrong key length")
    created = entry.get("created_us", 0)
    if not isinstance(created, int):
        raise TypeError("created_us")
    return DataKey(key_id=key_id, created_us=created, secret=secret, cipher=AESGCM(secret))
