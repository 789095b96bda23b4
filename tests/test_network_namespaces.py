"""The demo's and the tunnel test's namespaces go whatever interrupts their making (root).

Ctrl-C turns into a KeyboardInterrupt wherever the demo is; here it is made
to land at the two moments that once leaked: right after a namespace was
made, and while the veth pair existed outside the namespaces.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from edgeward.harness import network_namespaces
from edgeward.harness.network_namespaces import namespace_pair
from tests.peers.wireguard import require_wireguard


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def _interrupt_after(
    monkeypatch: pytest.MonkeyPatch, when: Callable[[tuple[str, ...]], bool]
) -> list[tuple[str, ...]]:
    """Run the real ``ip`` until ``when(args)`` holds after a call, then raise KeyboardInterrupt."""
    real_ip = network_namespaces.ip
    calls: list[tuple[str, ...]] = []

    def interrupted(*args: str) -> str:
        output = real_ip(*args)
        calls.append(args)
        if when(args):
            raise KeyboardInterrupt
        return output

    monkeypatch.setattr(network_namespaces, "ip", interrupted)
    return calls


def test_an_interrupt_right_after_a_namespace_is_made_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_wireguard()
    calls = _interrupt_after(monkeypatch, lambda args: args[:2] == ("netns", "add"))
    with pytest.raises(KeyboardInterrupt), namespace_pair():
        pass
    made = calls[0][2]
    assert made.startswith("ewc-")
    assert made not in _namespaces()


def test_an_interrupt_while_the_veth_pair_is_outside_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_wireguard()
    calls = _interrupt_after(monkeypatch, lambda args: args[:2] == ("link", "add"))
    with pytest.raises(KeyboardInterrupt), namespace_pair():
        pass
    veth = calls[-1][2]
    assert veth.startswith("ewv")
    assert f" {veth}@" not in _links(), "the veth pair is removed"
    assert not {name for *_, name in calls[:2]} & _namespaces()
