"""Enrolling with a claim code so that a run killed at any moment can simply be re-run.

The order makes every interruption recoverable:

1. the keys are generated and saved with the claim code (the *intent*) in
   ``provision.json`` before the cloud is asked;
2. the cloud enrolls the gateway;
3. the answer replaces the intent in ``provision.json`` (the code dropped).

Killed between 2 and 3, the re-run finds the intent and presents the same
code with the same keys (signed by the identity key); the cloud answers that
enrollment again (the rule in the cloud's ``cloud/enrollment/replay.py``)
with the same gateway and tunnel address and a new credential. Nothing reads the intent
but this module: the config is written only from a saved answer.

A refused code, or a cloud the request never reached, removes the intent
again, so the gateway is left as it was.

``EDGEWARD_PROVISION_PAUSE_AFTER=enroll`` with ``EDGEWARD_PROVISION_PAUSE_FIFO``
naming a FIFO is a test hook: after the cloud's answer, before saving it, the
installer writes one line to the FIFO and waits to be killed, so a test can
SIGKILL it at exactly that moment.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from edgeward.provisioning import cloud_client
from edgeward.provisioning.errors import ClaimCodeRefused, CloudUnreachable, UsageError
from edgeward.provisioning.keys import GatewayKeys
from edgeward.provisioning.state import Layout, ProvisionState, save_state
from edgeward.sync.claim_codes import ClaimCodeTypo, normalize

PAUSE_ENV = "EDGEWARD_PROVISION_PAUSE_AFTER"
PAUSE_FIFO_ENV = "EDGEWARD_PROVISION_PAUSE_FIFO"


def pause_point(name: str) -> None:
    """The test hook above; does nothing unless both variables are set for ``name``."""
    fifo = os.environ.get(PAUSE_FIFO_ENV)
    if os.environ.get(PAUSE_ENV) != name or not fifo:
        return
    with Path(fifo).open("w", encoding="utf-8") as handle:
        handle.write(f"paused after {name}\n")
    while True:
        signal.pause()


def _code(claim: str) -> str:
    try:
        return normalize(claim)
    except ClaimCodeTypo as exc:
        raise ClaimCodeRefused(
            "typo", f"claim code typo: {exc}", hint=cloud_client.CLAIM_HINTS["typo"]
        ) from exc


def _differs(claim: str, saved: str | None) -> bool:
    try:
        return normalize(claim) != saved
    except ClaimCodeTypo:
        return True


def _intent(
    layout: Layout, state: ProvisionState | None, url: str | None, claim: str | None
) -> tuple[ProvisionState, bool]:
    """The saved intent (new, or the interrupted run's) and whether this run made the root."""
    if state is not None:
        return state, False
    if not url or not claim:
        raise UsageError(f"not enrolled yet (no {layout.state}): give --cloud URL and --claim CODE")
    fresh_root = not layout.root.exists()
    state = ProvisionState(url, GatewayKeys.generate(), None, claim_code=_code(claim))
    save_state(layout, state)
    return state, fresh_root


def _forget(layout: Layout, fresh_root: bool) -> None:
    layout.state.unlink(missing_ok=True)
    if fresh_root:
        with contextlib.suppress(OSError):  # something else is in it: leave it
            layout.root.rmdir()


def enroll(
    layout: Layout,
    state: ProvisionState | None,
    url: str | None,
    claim: str | None,
    name: str | None,
    result: list[str],
) -> ProvisionState:
    """The completed state: kept from an earlier run, or enrolled now."""
    if state is not None and state.enrollment is not None:
        result.append(f"already enrolled as {state.gateway_id} (keys kept from the earlier run)")
        if claim:
            result.append(f"--claim not used (to enroll afresh, move {layout.state} aside)")
        return state
    if state is not None:
        result.append("resumed the interrupted enrollment (same keys, same claim code)")
        if claim and _differs(claim, state.claim_code):
            result.append("--claim not used: the interrupted run's code completes first")
    state, fresh_root = _intent(layout, state, url, claim)
    if state.claim_code is None:
        raise UsageError(f"{layout.state}: no enrollment and no claim code; move it aside")
    try:
        answer = cloud_client.enroll(state.cloud_url, state.claim_code, state.keys, name)
    except ClaimCodeRefused:
        _forget(layout, fresh_root)
        raise
    except CloudUnreachable as exc:
        if not exc.may_have_arrived:
            _forget(layout, fresh_root)
        raise
    pause_point("enroll")
    state.enrollment, state.claim_code = answer, None
    save_state(layout, state)
    # A cloud without a hub still reserves the address; it means nothing until a hub offers it.
    offered = f", tunnel address {answer['tunnel_address']}" if answer.get("wireguard") else ""
    result.append(f"enrolled as {state.gateway_id} in account {answer['account_id']}{offered}")
    return state
