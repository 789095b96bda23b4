"""Starting the real peers the tests talk to, and failing loudly when one is missing.

Outside CI a missing peer skips its tests with the package to install; with
CI=true it fails them, because a suite that silently skipped its peers
would pass on a stub.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from edgeward.harness.processes import find_program


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_peer(what: str, install_hint: str) -> None:
    """Fail in CI, skip elsewhere; always name what to install."""
    message = f"{what} is not available; install it with: {install_hint}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_program(program: str, package: str) -> str:
    path = find_program(program)
    if path is None:
        missing_peer(f"program {program!r}", f"apt-get install {package}")
    assert path is not None
    return path


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
