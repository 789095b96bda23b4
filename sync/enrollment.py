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
signed body is the same every time and can be replayed. What a replay gets
is useless: the credential in an enrollment answer is sealed (HPKE, RFC 9180,
base mode) to the gateway's WireGuard public key, the one X25519 key the
request binds, so only the gateway opens it (:func:`seal_credential`,
:func:`open_credential`); and the cloud answers again only while the
gateway has never used its credential, so a replay can't revoke a working one.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

ENROLL_PATH = "/v1/enroll"
KEY_ROTATION_PATH = "/v1/gateway-keys"
_ROTATION_CONTEXT = b"edgeward gateway key rotation v1\n"
_ENROLLMENT_CONTEXT = b"edgeward gateway enrollment v1\n"
# HPKE's info: keeps this use of the WireGuard key apart from any other.
_CREDENTIAL_INFO = b"edgeward enrollment credential v1"
_CREDENTIAL_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)


class SealedCredentialError(ValueError):
    """A sealed credential that this key can't open (another gateway's, or damaged)."""


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


def seal_credential(credential: str, wireguard_public_key_b64: str) -> str:
    """``credential`` sealed to that X25519 key (HPKE base mode, RFC 9180), base64."""
    recipient = X25519PublicKey.from_public_bytes(base64.b64decode(wireguard_public_key_b64))
    sealed = _CREDENTIAL_SUITE.encrypt(credential.encode(), recipient, info=_CREDENTIAL_INFO)
    return base64.b64encode(sealed).decode()


def open_credential(sealed_b64: str, wireguard_private_key_b64: str) -> str:
    """The credential :func:`seal_credential` sealed to this key's public half."""
    key = X25519PrivateKey.from_private_bytes(base64.b64decode(wireguard_private_key_b64))
    try:
        opened = _CREDENTIAL_SUITE.decrypt(
            base64.b64decode(sealed_b64, validate=True), key, info=_CREDENTIAL_INFO
        )
        return opened.decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise SealedCredentialError("the sealed credential does not open with this key") from exc
