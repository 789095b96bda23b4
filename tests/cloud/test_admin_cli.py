"""``edgeward cloud admin``: secrets printed once, stored only as keyed hashes."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa


def admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "admin", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
    )


def field(output: str, name: str) -> str:
    found = re.search(rf"^{name} = (\S+)$", output, re.M)
    assert found, f"{name} missing from {output!r}"
    return found.group(1)


@pytest.mark.slow
def test_create_account_then_gateway_print_secrets_once_and_store_hashes(tmp_path: Path) -> None:
    account = admin(tmp_path, "create-account", "--name", "Site 12", "--owner-email", "o@x.io")
    assert account.returncode == 0, account.stderr
    account_id = field(account.stdout, "account_id")
    owner_token = field(account.stdout, "token")
    assert owner_token.startswith("ewt_")
    gateway = admin(tmp_path, "add-gateway", "--account", account_id, "--name", "site-12")
    assert gateway.returncode == 0, gateway.stderr
    gateway_id = field(gateway.stdout, "gateway_id")
    credential = field(gateway.stdout, "credential")
    assert credential.startswith("ewg_")
    for secret in (owner_token, credential):
        assert secret not in account.stderr + gateway.stderr, "never logged"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM tokens")).mappings().all()
        gateway_row = connection.execute(sa.text("SELECT * FROM gateways")).mappings().one()
    engine.dispose()
    assert gateway_row["id"] == gateway_id and gateway_row["account_id"] == account_id
    assert {(row["owner_kind"], row["account_id"]) for row in rows} == {
        ("user", account_id),
        ("gateway", account_id),
    }
    assert stat.S_IMODE((tmp_path / "pepper").stat().st_mode) == 0o600
    raw = (tmp_path / "cloud.db").read_bytes() + _wal(tmp_path)
    for secret in (owner_token, credential):
        assert secret.encode() not in raw, "only keyed hashes are stored"


def _wal(directory: Path) -> bytes:
    wal = directory / "cloud.db-wal"
    return wal.read_bytes() if wal.exists() else b""


def test_add_gateway_to_an_unknown_account_is_status_2(tmp_path: Path) -> None:
    result = admin(tmp_path, "add-gateway", "--account", "acc-nope", "--name", "x")
    assert result.returncode == 2
    assert "--account" in result.stderr and "acc-nope" in result.stderr


def test_bad_database_url_is_status_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeward",
            "cloud",
            "admin",
            "add-gateway",
            "--name",
            "x",
            "--account",
            "acc-1",
            "--data-dir",
            str(tmp_path),
            "--db",
            "mysql://nowhere/db",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--db" in result.stderr


@pytest.mark.slow
def test_issue_owner_token_recovers_an_account(tmp_path: Path) -> None:
    account = admin(tmp_path, "create-account", "--name", "S", "--owner-email", "o@x.io")
    account_id = field(account.stdout, "account_id")
    recovered = admin(tmp_path, "issue-owner-token", "--account", account_id)
    assert recovered.returncode == 0, recovered.stderr
    token = field(recovered.stdout, "token")
    assert token.startswith("ewt_") and token != field(account.stdout, "token")
    missing = admin(tmp_path, "issue-owner-token", "--account", "acc-none")
    assert missing.returncode == 2 and "no active owner" in missing.stderr
