"""The enrollment answer's credential opens with the gateway's WireGuard key and no other."""

from __future__ import annotations

import base64

import pytest

from edgeward.provisioning.keys import GatewayKeys
from edgeward.sync.enrollment import SealedCredentialError, open_credential, seal_credential


def test_only_the_gateway_opens_its_credential() -> None:
    gateway, other = GatewayKeys.generate(), GatewayKeys.generate()
    sealed = seal_credential("ewg_the-credential", gateway.wireguard_public)
    assert "the-credential" not in base64.b64decode(sealed).decode(errors="replace")
    assert open_credential(sealed, gateway.wireguard_private) == "ewg_the-credential"
    with pytest.raises(SealedCredentialError):
        open_credential(sealed, other.wireguard_private)


def test_each_sealing_differs_and_damage_is_refused() -> None:
    gateway = GatewayKeys.generate()
    first = seal_credential("ewg_same", gateway.wireguard_public)
    assert first != seal_credential("ewg_same", gateway.wireguard_public), "fresh HPKE ephemeral"
    raw = bytearray(base64.b64decode(first))
    raw[-1] ^= 1
    for damaged in (base64.b64encode(bytes(raw)).decode(), "not base64!", first[:20]):
        with pytest.raises(SealedCredentialError):
            open_credential(damaged, gateway.wireguard_private)
