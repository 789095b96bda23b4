"""``edgeward cloud admin``: secrets printed once, stored only as keyed hashes."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa


def admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgeward", "cloud", "admin", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
    )


def test_add_gateway_prints_the_credential_once_and_stores_a_hash(tmp_path: Path) -> None:
    result = admin(tmp_path, "add-gateway", "--name", "site-12")
    assert result.returncode == 0, result.stderr
    gateway_id = re.search(r"^gateway_id = (gw-[0-9a-f]{12})$", result.stdout, re.M)
    credential = re.search(r"^credential = (ewg_\S+)$", result.stdout, re.M)
    assert gateway_id and credential
    assert credential.group(1) not in result.stderr, "never logged"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM gateways")).mappings().one()
    engine.dispose()
    assert row["id"] == gateway_id.group(1)
    assert credential.group(1) not in str(dict(row))
    assert credential.group(1).startswith(row["credential_prefix"])
    assert stat.S_IMODE((tmp_path / "pepper").stat().st_mode) == 0o600
    assert (tmp_path / "cloud.db").read_bytes().find(credential.group(1).encode()) == -1


def test_create_token_rejects_a_bad_grant_with_status_2(tmp_path: Path) -> None:
    result = admin(tmp_path, "create-token", "--name", "app", "--grant", "readings:FETCH")
    assert result.returncode == 2
    assert "--grant" in result.stderr and "FETCH" in result.stderr


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
