"""Where the cloud keeps its state, and the server pepper for keyed hashes."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from edgeward.cloud.egress.guard import IPNetwork, parse_networks
from edgeward.cloud.errors import ConfigurationError

DEFAULT_DATA_DIR = Path(os.environ.get("EDGEWARD_CLOUD_DATA_DIR", "/var/lib/edgeward-cloud"))
PEPPER_BYTES = 32


@dataclass(frozen=True, slots=True)
class CloudSettings:
    data_dir: Path
    db_url: str
    pepper: bytes
    # Failed authentications allowed per client address and per token prefix
    # within the window, before 429s.
    auth_failure_limit: int = 20
    auth_failure_window_s: float = 60.0
    # Webhooks may call loopback or private addresses (tests, on-premises receivers).
    webhooks_allow_private: bool = False
    # Non-global networks the proxy may reach (none by default; tests allow loopback).
    proxy_allow_networks: tuple[IPNetwork, ...] = ()
    # How long a proxied destination has to connect and to send each part of its answer.
    proxy_timeout_s: float = 30.0
    # OAuth 1.0a: accept HMAC-SHA1 signatures too, for old clients (HMAC-SHA256 always).
    oauth1_allow_hmac_sha1: bool = False

    @classmethod
    def load(cls, data_dir: Path | None = None, db_url: str | None = None) -> CloudSettings:
        directory = (data_dir or DEFAULT_DATA_DIR).resolve()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        url = db_url or f"sqlite:///{directory / 'cloud.db'}"
        return cls(
            data_dir=directory,
            db_url=url,
            pepper=load_pepper(directory),
            auth_failure_limit=_env_int("EDGEWARD_CLOUD_AUTH_FAILURE_LIMIT", 20),
            webhooks_allow_private=_env_flag("EDGEWARD_CLOUD_WEBHOOKS_ALLOW_PRIVATE"),
            oauth1_allow_hmac_sha1=_env_flag("EDGEWARD_CLOUD_OAUTH1_ALLOW_HMAC_SHA1"),
            proxy_allow_networks=_env_networks("EDGEWARD_CLOUD_PROXY_ALLOW_NETWORKS"),
            proxy_timeout_s=float(_env_int("EDGEWARD_CLOUD_PROXY_TIMEOUT_S", 30)),
        )


def load_pepper(data_dir: Path) -> bytes:
    """The server-wide HMAC key; ``EDGEWARD_CLOUD_PEPPER_FILE`` overrides its place.

    Every API worker must use the same pepper, so at scale point them all at
    one file (a mounted secret). Created mode 0600 on first start.
    """
    path = Path(os.environ.get("EDGEWARD_CLOUD_PEPPER_FILE", data_dir / "pepper"))
    if not path.exists():
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker created it first; read theirs
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(PEPPER_BYTES))
    try:
        pepper = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"pepper file {path}: cannot read: {exc.strerror}") from exc
    if len(pepper) < PEPPER_BYTES:
        raise ConfigurationError(
            f"pepper file {path}: holds {len(pepper)} bytes, expected at least {PEPPER_BYTES}"
        )
    return pepper


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"${name}: expected a positive integer, found {text!r}")
    return int(text)


def _env_networks(name: str) -> tuple[IPNetwork, ...]:
    try:
        return parse_networks(os.environ.get(name, ""), f"${name}")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
