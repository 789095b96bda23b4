"""The outbox at rest: no plaintext on disk, rows bound to their seq, keys rotated safely."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edgeward.gateway.errors import KeyringError
from edgeward.gateway.outbox.data_keys import Keyring
from edgeward.gateway.outbox.store import NewReading, Outbox
from tests.gateway.config_files import valid_document, write_config
from tests.gateway.outbox import with_outbox

CANARY_SOURCE = "meter-canary-7f3a"
CANARY_TEXT = "PLAINTEXT-CANARY-91d2"
CANARY_NUMBER = 987654.321


def canary(n: int) -> NewReading:
    return NewReading(
        source=CANARY_SOURCE,
        time_us=1_764_128_460_000_000 + n,
        values={"tag": CANARY_TEXT, "energy": CANARY_NUMBER, "n": n},
    )


def test_neither_the_outbox_file_nor_its_wal_holds_a_plaintext_reading(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    seen: dict[str, bytes] = {}

    async def test(outbox: Outbox) -> None:
        for n in range(50):
            await outbox.append([canary(n), canary(n + 1000)])
        # While open, the rows sit in the WAL; read both files as an attacker would.
        seen["wal"] = path.with_name("outbox.db-wal").read_bytes()
        seen["db"] = path.read_bytes()
        assert len(await outbox.pending(1000)) == 100  # and they do open with the key

    with_outbox(path, test)
    seen["db-after-close"] = path.read_bytes()  # checkpointed into the main file
    assert seen["wal"], "the test must look at a WAL that holds the rows"
    for name, data in seen.items():
        for needle in (CANARY_TEXT, CANARY_SOURCE, str(CANARY_NUMBER), '"energy"'):
            assert needle.encode() not in data, f"{needle!r} in plaintext in {name}"


def test_the_keyring_is_created_private_and_its_key_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def test(outbox: Outbox) -> None:
        await outbox.append([canary(1)])
        await outbox.rotate_key()
        await outbox.append([canary(2)])

    with_outbox(tmp_path / "outbox.db", test)
    keyring_path = tmp_path / "outbox.keys"
    assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600
    document = json.loads(keyring_path.read_text())
    secrets = [entry["key"] for entry in document["keys"].values()]
    assert len(secrets) == 2
    keyring = Keyring.load_or_create(keyring_path)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in repr(keyring.current)
        assert base64.b64decode(secret).hex() not in caplog.text


def test_rotation_keeps_old_rows_readable_and_retires_unused_keys(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def first_run(outbox: Outbox) -> list[int]:
        await outbox.append([canary(1), canary(2)])
        assert await outbox.rotate_key() == 2
        await outbox.append([canary(3)])
        return [r.values["n"] for r in await outbox.pending(10)]

    assert with_outbox(path, first_run) == [1, 2, 3]
    key_ids = sqlite3.connect(path).execute("SELECT key_id FROM readings ORDER BY seq").fetchall()
    assert key_ids == [(1,), (1,), (2,)]

    async def second_run(outbox: Outbox) -> list[int]:
        # Both keys still held: rows 1 and 2 are sealed under key 1.
        pending = await outbox.pending(10)
        await outbox.remove_through(pending[0].seq, pending[1].seq)
        return [r.values["n"] for r in pending]

    assert with_outbox(path, second_run) == [1, 2, 3]
    assert Keyring.load_or_create(tmp_path / "outbox.keys").key_ids == [1, 2]

    async def third_run(outbox: Outbox) -> list[int]:
        return [r.values["n"] for r in await outbox.pending(10)]

    # No row uses key 1 any more: it is forgotten at this open.
    assert with_outbox(path, third_run) == [3]
    assert Keyring.load_or_create(tmp_path / "outbox.keys").key_ids == [2]


def test_a_key_older_than_the_rotation_age_is_rotated_at_open(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def fill(outbox: Outbox) -> None:
        await outbox.append([canary(1)])

    with_outbox(path, fill)

    async def read(outbox: Outbox) -> list[int]:
        await outbox.append([canary(2)])
        return [r.values["n"] for r in await outbox.pending(10)]

    assert with_outbox(path, read, key_rotation_days=0.0) == [1, 2]
    key_ids = sqlite3.connect(path).execute("SELECT key_id FROM readings ORDER BY seq").fetchall()
    assert key_ids == [(1,), (2,)]


def test_swapped_ciphertexts_do_not_open_and_are_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"

    async def fill(outbox: Outbox) -> list[int]:
        return [await outbox.append([canary(n)]) for n in range(1, 4)]

    first, second, third = with_outbox(path, fill)
    with sqlite3.connect(path) as db:  # an attacker swaps two rows' payloads
        (a,) = db.execute("SELECT sealed FROM readings WHERE seq = ?", (first,)).fetchone()
        (b,) = db.execute("SELECT sealed FROM readings WHERE seq = ?", (second,)).fetchone()
        db.execute("UPDATE readings SET sealed = ? WHERE seq = ?", (b, first))
        db.execute("UPDATE readings SET sealed = ? WHERE seq = ?", (a, second))
    db.close()

    async def read(outbox: Outbox) -> list[int]:
        return [r.seq for r in await outbox.pending(10)]

    assert with_outbox(path, read) == [third]
    rejected = sqlite3.connect(path).execute("SELECT seq, reason FROM rejected").fetchall()
    assert [seq for seq, _ in rejected] == [first, second]
    assert all("authentication failed" in reason for _, reason in rejected)


def test_a_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    Keyring.load_or_create(tmp_path / "outbox.keys")
    (tmp_path / "outbox.keys").chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        Keyring.load_or_create(tmp_path / "outbox.keys")


def test_a_damaged_keyring_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "outbox.keys"
    path.write_text('{"current": 1, "keys": {"1": {"key": "c2VjcmV0LXNob3J0"}}}')
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="unreadable keyring") as caught:
        Keyring.load_or_create(path)
    assert "c2VjcmV0" not in str(caught.value)


OLD_SCHEMA = """
CREATE TABLE readings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE rejected (
    seq INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    rejected_us INTEGER NOT NULL
);
"""


def test_a_plaintext_outbox_of_the_previous_version_is_sealed_in_place(tmp_path: Path) -> None:
    """Upgrade in the field: the old backlog keeps its seqs, and its plaintext leaves the disk."""
    path = tmp_path / "outbox.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(OLD_SCHEMA)
    for n in range(1, 301):
        payload = json.dumps({"tag": CANARY_TEXT, "n": n}).encode()
        db.execute(
            "INSERT INTO readings (source, time_us, payload) VALUES (?, ?, ?)",
            (CANARY_SOURCE, 1_764_128_460_000_000 + n, payload),
        )
    db.execute("DELETE FROM readings WHERE seq <= 100")  # acknowledged before the upgrade
    db.execute(
        "INSERT INTO rejected SELECT seq, source, time_us, payload, 'refused', 1 "
        "FROM readings WHERE seq = 150"
    )
    db.execute("DELETE FROM readings WHERE seq = 150")
    db.close()

    async def test(outbox: Outbox) -> tuple[list[int], int, bytes]:
        pending = await outbox.pending(1000)
        assert all(r.source == CANARY_SOURCE and r.values["tag"] == CANARY_TEXT for r in pending)
        wal = path.with_name("outbox.db-wal")
        on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        return [r.seq for r in pending], await outbox.append([canary(1)]), on_disk

    seqs, next_seq, on_disk = with_outbox(path, test)
    assert seqs == [n for n in range(101, 301) if n != 150]
    assert next_seq == 301, "the sequence continues where the old file left it"
    for data in (on_disk, path.read_bytes()):
        assert CANARY_TEXT.encode() not in data and CANARY_SOURCE.encode() not in data
    rejected = sqlite3.connect(path).execute("SELECT seq, reason FROM rejected").fetchall()
    assert rejected == [(150, "refused")]


def test_the_gateway_refuses_to_start_on_a_keyring_others_can_read(tmp_path: Path) -> None:
    config = write_config(tmp_path, valid_document())
    keyring = tmp_path / "data" / "outbox.keys"
    Keyring.load_or_create(keyring)
    keyring.chmod(0o640)
    result = subprocess.run(
        [sys.executable, "-m", "edgeward", "gateway", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "chmod 600" in result.stderr and "0640" in result.stderr
    secret = json.loads(keyring.read_text())["keys"]["1"]["key"]
    assert secret not in result.stderr + result.stdout
