"""The provisioning contract between gateway and cloud: enrollment and key rotation.

A key rotation is asked for by the gateway with its credential, and proved
twice with Ed25519 signatures (RFC 8032): once by the identity key the cloud
holds (only the gateway that enrolled can rotate; a leaked credential alone
cannot move the gateway's tunnel to an attacker's key), once by the new
identity key (the gateway holds the key it announces). Both sign
:func:`rotation_message`, which binds the gateway id and both new public keys.

An enrollment carries a signature of :func:`enrollment_message` by the
identity key it announces (proof of possession), and the cloud refuses one
without it before it redeems the claim code. Public keys are not secret: the
proof keeps an enrollment from registering a key its sender does not hold,
and it lets the cloud answer an enrollment again (a gateway killed after the
cloud answered but before it saved the answer re-presents the same code with
the same keys). The message has no nonce and Ed25519 is deterministic, so a
signed body is the same every time: whoever captures one can replay it while
the code is valid and get a new credential. Enrollment therefore has to
travel over TLS (or the site's own trusted link), like every other call.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ENROLL_PATH = "/v1/enroll"
KEY_ROTATION_PATH = "/v1/gateway-keys"
_ROTATION_CONTEXT = b"edgeward gateway key rotation v1\n"
_ENROLLMENT_CONTEXT = b"edgeward gateway enrollment v1\n"


def rotation_message(gateway_id: str, identity_public_key: str, wireguard_public_key: str) -> bytes:
    return (
        _ROTATION_CONTEXT
        + "\n".join((gateway_id, identity_public_key, wireguard_public_key)).encode()
    )


def enrollment_message(
    claim_code: str, identity_public_key: str, wireguard_public_key: str
) -> bytes:
    """``claim_code`` normalized (:func:`edgeward.sync.claim_codes.normalize`)."""
    return (
        _ENROLLMENT_CONTEXT
        + "\n".join((claim_code, identity_public_key, wireguard_public_key)).encode()
    )


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message)).decode()


def verify(public_key_b64: str, signature_b64: str, message: bytes) -> bool:
    """Whether ``signature_b64`` is the Ed25519 signature of ``message`` by that key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
