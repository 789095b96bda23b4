"""Sealed-for-cloud envelopes: the gateway's key verifies but never opens, and no input
makes either side raise anything but a refusal with a reason."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.sync import reports
from edgeward.sync.reports import ReportRejected

KEY = secrets.token_bytes(32)
AUTH_KEY = reports.authentication_key(KEY)


def test_the_derived_keys_are_distinct_stable_and_not_the_source_key() -> None:
    encryption = reports.encryption_key(KEY)
    assert len({KEY, encryption, AUTH_KEY}) == 3
    assert (reports.encryption_key(KEY), reports.authentication_key(KEY)) == (encryption, AUTH_KEY)
    assert reports.authentication_key(secrets.token_bytes(32)) != AUTH_KEY


def test_a_report_sealed_for_the_cloud_round_trips_and_binds_its_source() -> None:
    envelope = reports.seal_for_cloud(b"hello", "probe", 42, KEY, secrets.token_bytes(12))
    assert reports.verify_sealed_for_cloud(envelope, "probe", AUTH_KEY) == 42
    assert reports.open_sealed_for_cloud(envelope, "probe", KEY) == reports.OpenedReport(
        42, b"hello"
    )
    assert b"hello" not in envelope and base64.b64encode(b"hello") not in envelope
    for call in (
        lambda: reports.verify_sealed_for_cloud(envelope, "other", AUTH_KEY),
        lambda: reports.open_sealed_for_cloud(envelope, "other", KEY),
    ):
        with pytest.raises(ReportRejected) as refused:
            call()
        assert refused.value.reason == "bad-signature"


def test_a_valid_tag_over_a_ciphertext_the_cloud_cannot_open_is_refused_by_the_cloud() -> None:
    """Someone holding only the authentication key (a gateway) can tag, not seal."""
    nonce, ciphertext = secrets.token_bytes(12), secrets.token_bytes(40)
    tag = reports._cloud_tag(AUTH_KEY, "probe", 3, nonce, ciphertext)
    envelope = reports._wrap(3, nonce=nonce, ciphertext=ciphertext, tag=tag)
    assert reports.verify_sealed_for_cloud(envelope, "probe", AUTH_KEY) == 3
    with pytest.raises(ReportRejected, match="bad-signature"):
        reports.open_sealed_for_cloud(envelope, "probe", KEY)


ENVELOPE_FIELDS = st.dictionaries(
    st.sampled_from(["counter", "nonce", "ciphertext", "tag", "payload"]),
    st.one_of(
        st.integers(min_value=-(2**64), max_value=2**64),
        st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
        st.text(max_size=10),
        st.none(),
        st.booleans(),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(st.binary(max_size=200), ENVELOPE_FIELDS.map(lambda d: json.dumps(d).encode()))
)
def test_garbage_is_refused_with_a_reason_never_raised(raw: bytes) -> None:
    for call in (
        lambda: reports.verify_sealed_for_cloud(raw, "probe", AUTH_KEY),
        lambda: reports.open_sealed_for_cloud(raw, "probe", KEY),
    ):
        with pytest.raises(ReportRejected) as refused:
            call()
        assert refused.value.reason in {"malformed", "bad-signature", "oversized"}
