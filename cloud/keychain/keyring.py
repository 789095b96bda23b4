"""The keychain's master keys and its envelope encryption.

Envelope encryption (as in NIST SP 800-57 key wrapping, with AES-256-GCM of
NIST SP 800-38D for both layers): every secret version gets a fresh random
data key that encrypts the value; the data key is itself encrypted
("wrapped") by the current master key. Rotating the master key re-wraps the
data keys only -- the values are never decrypted for it -- and each wrapped
key names the master key that wrapped it.

Both layers bind ``context`` (``keychain:<secret id>:<version>``) as associated
data, so a ciphertext or a wrapped key copied onto another row does not open.

The keyring is a file (``keychain.keys`` in the data directory, or
``$EDGEWARD_CLOUD_KEYCHAIN_KEY_FILE``), mode 0600, one key a line:
``<key id> <base64 of 32 bytes>``; the first line is the current key, the
others still open what they wrapped. ``$EDGEWARD_CLOUD_KEYCHAIN_KEYS`` may
hold the same lines instead (``;`` separates them); then rotation is the
operator's job, since the cloud cannot rewrite its own environment.
Workers re-read the file when it changes, so a rotation done by
``edgeward cloud admin rotate-master-key`` reaches running workers.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.errors import ConfigurationError

KEY_FILE_VARIABLE = "EDGEWARD_CLOUD_KEYCHAIN_KEY_FILE"
KEYS_VARIABLE = "EDGEWARD_CLOUD_KEYCHAIN_KEYS"
DEFAULT_FILE = "keychain.keys"
KEY_BYTES = 32

Key = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class Sealed:
    ciphertext: bytes
    wrapped_key: bytes
    master_key_id: str


def new_key() -> Key:
    return f"k{secrets.token_hex(6)}", secrets.token_bytes(KEY_BYTES)


def context(secret_id: str, version: int) -> str:
    return f"keychain:{secret_id}:{version}"


def parse_keys(text: str, source: str) -> list[Key]:
    """Keyring lines -> keys, the current one first; errors name ``source`` and the line."""
    keys: list[Key] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key_id, _, encoded = line.strip().partition(" ")
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raw = b""
        if not key_id.isalnum() or len(raw) != KEY_BYTES:
            raise ConfigurationError(
                f"{source}: line {number}: expected '<key id> <base64 of {KEY_BYTES} bytes>'"
            )
        keys.append((key_id, raw))
    if not keys:
        raise ConfigurationError(f"{source}: holds no key; expected at least one line")
    return keys


def format_keys(keys: list[Key]) -> str:
    lines = [f"{key_id} {base64.b64encode(raw).decode()}" for key_id, raw in keys]
    return (
        "# Edgeward keychain master keys; the first is current. Keep mode 0600.\n"
        + "\n".join(lines)
        + "\n"
    )


def write_key_file(path: Path, keys: list[Key]) -> None:
    """Replace the key file atomically, mode 0600 from the first byte."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(format_keys(keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_key_file(path: Path) -> list[Key]:
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"keychain key file {path}: cannot read: {exc.strerror}") from exc
    if mode & 0o077:
        raise ConfigurationError(
            f"keychain key file {path}: mode {mode:04o}, expected 0600 (readable by its owner only)"
        )
    return parse_keys(text, f"keychain key file {path}")


class Keyring:
    """The master keys, by id; seals new versions with the current one."""

    def __init__(self, keys: list[Key], path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._keys = keys

    @classmethod
    def load(cls, data_dir: Path) -> Keyring:
        from_environment = os.environ.get(KEYS_VARIABLE)
        if from_environment:
            lines = from_environment.replace(";", "\n")
            return cls(parse_keys(lines, f"${KEYS_VARIABLE}"))
        path = Path(os.environ.get(KEY_FILE_VARIABLE, data_dir / DEFAULT_FILE))
        if not path.exists():
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another worker made it first
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(format_keys([new_key()]))
        return cls(_read_key_file(path), path)

    @property
    def keys(self) -> list[Key]:
        return list(self._keys)

    @property
    def current_id(self) -> str:
        return self._current()[0]

    def seal(self, value: bytes, where: str) -> Sealed:
        key_id, master = self._current()
        data_key = secrets.token_bytes(KEY_BYTES)
        return Sealed(
            SealedBox(data_key).seal(value, where),
            SealedBox(master).seal(data_key, where),
            key_id,
        )

    def open(self, sealed: Sealed, where: str) -> bytes:
        data_key = SealedBox(self._key(sealed.master_key_id)).open(sealed.wrapped_key, where)
        return SealedBox(data_key).open(sealed.ciphertext, where)

    def rewrap(self, wrapped_key: bytes, master_key_id: str, where: str, to: Key) -> bytes:
        """The data key wrapped by ``to`` instead; the value it protects stays sealed."""
        data_key = SealedBox(self._key(master_key_id)).open(wrapped_key, where)
        return SealedBox(to[1]).seal(data_key, where)

    def _current(self) -> Key:
        self._reload_if_changed()
        return self._keys[0]

    def _key(self, key_id: str) -> bytes:
        found = dict(self._keys).get(key_id)
        if found is None:
            self._reload_if_changed()
            found = dict(self._keys).get(key_id)
        if found is None:
            raise ConfigurationError(
                f"keychain master key {key_id!r} is not in the keyring; "
                "restore the key file that holds it"
            )
        return found

    def _file_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            status = self.path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_ino

    def _reload_if_changed(self) -> None:
        """Pick up a rotation done by another process (the admin CLI)."""
        if self.path is None:
            return
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        with self._lock:
            self._keys = _read_key_file(self.path)
            self._stamp = stamp
