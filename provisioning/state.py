"""Where provisioning keeps its files, and the resumable state between runs.

Everything lives under one root (``/etc/edgeward`` or ``--root``):

- ``provision.json`` (0600): the state: the cloud URL, the keys, and the
  enrollment answer (credential included) from the moment the cloud gave it.
  Before the cloud is asked, it holds the *intent*: the cloud URL, the keys
  just generated and the claim code, with no enrollment yet. A run killed
  between the cloud's answer and saving it re-presents the same code with
  the same keys, and the cloud answers that enrollment again (the rule in
  the cloud's ``cloud/enrollment/replay.py``). Written whole (temp,
  fsync, rename) each time; the claim code is dropped once the answer is
  saved.
- ``identity.key``, ``wireguard.key``, ``credential`` (0600): the secrets the
  gateway and the tunnel read.
- ``wireguard/<interface>.conf`` (0600, directory 0700): the tunnel for
  ``wg-quick`` (:mod:`edgeward.provisioning.wg_quick`).
- ``gateway.toml``: written last and whole, so a gateway never starts on a
  half-written config; device sections added later are kept on re-runs.

A refused claim code (or a cloud the request never reached) removes the
intent again: the gateway is left as it was. Only a completed state (with an
enrollment) is used for anything else (:func:`load_enrolled`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.gateway.files import write_atomic
from edgeward.provisioning.errors import UsageError, WriteError
from edgeward.provisioning.keys import GatewayKeys

DEFAULT_ROOT = Path("/etc/edgeward")
DEFAULT_DATA_DIR = Path("/var/lib/edgeward")
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "provision.json"

    @property
    def config(self) -> Path:
        return self.root / "gateway.toml"

    @property
    def credential(self) -> Path:
        return self.root / "credential"

    @property
    def identity_key(self) -> Path:
        return self.root / "identity.key"

    @property
    def wireguard_key(self) -> Path:
        return self.root / "wireguard.key"

    @property
    def data_dir(self) -> Path:
        """``/var/lib/edgeward`` for the ``/etc/edgeward`` layout (the image's), else ROOT/data."""
        return DEFAULT_DATA_DIR if self.root == DEFAULT_ROOT else self.root / "data"

    def wg_quick(self, interface: str) -> Path:
        """The tunnel as wg-quick reads it (the image's ``edgeward-tunnel.service``)."""
        return self.root / "wireguard" / f"{interface}.conf"


@dataclass
class ProvisionState:
    cloud_url: str
    keys: GatewayKeys
    enrollment: dict[str, Any] | None
    pending_keys: GatewayKeys | None = None
    claim_code: str | None = None  # only while enrolling (the intent)

    @property
    def answer(self) -> dict[str, Any]:
        if self.enrollment is None:
            raise UsageError("enrollment not finished; re-run edgeward provision to complete it")
        return self.enrollment

    @property
    def gateway_id(self) -> str:
        return str(self.answer["gateway_id"])

    @property
    def wireguard(self) -> dict[str, Any] | None:
        offer = self.answer.get("wireguard")
        return dict(offer) if offer else None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "version": STATE_VERSION,
            "cloud_url": self.cloud_url,
            "keys": _keys_json(self.keys),
            "enrollment": self.enrollment,
        }
        if self.claim_code is not None:
            document["claim_code"] = self.claim_code
        if self.pending_keys is not None:
            document["pending_keys"] = _keys_json(self.pending_keys)
        return document


def _keys_json(keys: GatewayKeys) -> dict[str, str]:
    return {"identity": keys.identity_private, "wireguard": keys.wireguard_private}


def _keys(document: dict[str, str]) -> GatewayKeys:
    return GatewayKeys(document["identity"], document["wireguard"])


def load_state(layout: Layout) -> ProvisionState | None:
    try:
        document = json.loads(layout.state.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{layout.state}: unreadable provisioning state ({exc})",
            hint="move it aside to start over (the claim code is then used; ask for a new one)",
        ) from exc
    try:
        pending = document.get("pending_keys")
        return ProvisionState(
            cloud_url=document["cloud_url"],
            keys=_keys(document["keys"]),
            enrollment=document["enrollment"],
            pending_keys=_keys(pending) if pending else None,
            claim_code=document.get("claim_code"),
        )
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{layout.state}: missing key {exc} in the provisioning state") from exc


def load_enrolled(layout: Layout) -> ProvisionState:
    """The completed state, or :class:`UsageError` saying to (re-)run ``edgeward provision``."""
    state = load_state(layout)
    if state is None:
        raise UsageError(f"not provisioned (no {layout.state}); run edgeward provision first")
    if state.enrollment is None:
        raise UsageError(
            f"{layout.state}: the enrollment was interrupted; re-run edgeward provision"
        )
    return state


def save_state(layout: Layout, state: ProvisionState) -> None:
    write(layout.state, json.dumps(state.to_json(), indent=2).encode() + b"\n")


def write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Whole or not at all (temp + fsync + rename), or :class:`WriteError` naming the file."""
    try:
        write_atomic(path, data, mode=mode)
        os.chmod(path, mode)
    except OSError as exc:
        raise WriteError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="run as root, or choose a writable --root",
        ) from exc
