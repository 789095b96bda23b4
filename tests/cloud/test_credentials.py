"""Credential format (prefix + checksum) and keyed-hash storage."""

from __future__ import annotations

from edgeward.cloud.auth import credentials


def test_generated_secrets_are_recognised_by_kind() -> None:
    for kind in (credentials.GATEWAY_CREDENTIAL, credentials.API_TOKEN):
        secret = credentials.generate(kind)
        assert secret.startswith(f"{kind}_")
        assert credentials.kind_of(secret) == kind


def test_checksum_catches_a_typo() -> None:
    secret = credentials.generate(credentials.API_TOKEN)
    for position in (4, 20, len(secret) - 1):
        replacement = "a" if secret[position] != "a" else "b"
        typo = secret[:position] + replacement + secret[position + 1 :]
        assert credentials.kind_of(typo) is None
    assert credentials.kind_of(secret + "x") is None
    assert credentials.kind_of("ewt_") is None
    assert credentials.kind_of("no-separator") is None


def test_keyed_hash_depends_on_the_pepper() -> None:
    secret = credentials.generate(credentials.GATEWAY_CREDENTIAL)
    stored = credentials.keyed_hash(b"a" * 32, secret)
    assert secret not in stored
    assert credentials.matches(b"a" * 32, secret, stored)
    assert not credentials.matches(b"b" * 32, secret, stored)


def test_display_prefix_reveals_too_little_to_use() -> None:
    secret = credentials.generate(credentials.GATEWAY_CREDENTIAL)
    prefix = credentials.display_prefix(secret)
    assert secret.startswith(prefix)
    assert len(prefix) == len("ewg_") + 6
