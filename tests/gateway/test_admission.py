"""Gateway admission against registries shaped as the cloud signs them: registered
sources in, everything else counted with its reason, and no input that crashes it."""

from __future__ import annotations

import base64
import json
import secrets
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeward.drivers.base import Reading
from edgeward.gateway.admission.policy import MAX_TRACKED_REJECTIONS, Admission
from edgeward.sync import reports

KEY = secrets.token_bytes(32)
SIGNER = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(
    SIGNER.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()
METER = {
    "transport": "modbus",
    "auth_mode": "bound",
    "sealed_for": None,
    "decoder": {"registers": [{"name": "voltage", "address": 0, "type": "float32"}]},
    "fields": {"voltage": {"unit": "V", "min": 0, "max": 1000}},
}


def mqtt(auth_mode: str, sealed_for: str | None = None) -> dict[str, Any]:
    return {
        "transport": "mqtt",
        "auth_mode": auth_mode,
        "sealed_for": sealed_for,
        "decoder": {"format": "json", "fields": [{"name": "temperature", "path": "t"}]},
        "fields": {"temperature": {"unit": "C", "min": -40, "max": 85}},
    }


def source(name: str, source_type: dict[str, Any], binding: dict[str, Any], **extra: Any) -> Any:
    return {
        "name": name,
        "enabled": True,
        "binding": binding,
        "type": source_type,
        "key": None,
        "public_key": None,
        **extra,
    }


REGISTRY = {
    "sources": [
        source("meter-1", METER, {"bus": "modbus-tcp://10.0.0.5:502", "unit": 3}),
        source(
            "probe-h", mqtt("hmac"), {"topic": "site/probe-h"}, key=base64.b64encode(KEY).decode()
        ),
        source("probe-e", mqtt("ed25519"), {"topic": "site/probe-e"}, public_key=PUBLIC),
        source(
            "probe-s",
            mqtt("sealed", "gateway"),
            {"topic": "site/probe-s"},
            key=base64.b64encode(KEY).decode(),
        ),
        source(
            "probe-c",
            mqtt("sealed", "cloud"),
            {"topic": "site/probe-c"},
            auth_key=base64.b64encode(reports.authentication_key(KEY)).decode(),
        ),
        {**source("off", METER, {"bus": "modbus-tcp://10.0.0.5:502", "unit": 4}), "enabled": False},
        # A type in the language of registry version 1: this gateway can't read it.
        source(
            "probe-old",
            {**mqtt("bound"), "decoder": {"fields": {"temperature": "t"}}},
            {"topic": "site/probe-old"},
        ),
    ]
}


def reading(name: str, raw: bytes, origin: str) -> Reading:
    return Reading(name, raw, datetime.now(UTC), origin)


def meter_frame(volts: float) -> bytes:
    return struct.pack(">f", volts)


def test_each_auth_mode_admits_its_proven_reports() -> None:
    admission = Admission(REGISTRY)
    payload = json.dumps({"t": 21.5}).encode()
    cases = [
        reading("meter-1", meter_frame(230.5), "modbus-tcp://10.0.0.5:502/3"),
        reading("probe-h", reports.sign_hmac(payload, "probe-h", 1, KEY), "mqtt://b/site/probe-h"),
        reading(
            "probe-e", reports.sign_ed25519(payload, "probe-e", 1, SIGNER), "mqtt://b/site/probe-e"
        ),
        reading(
            "probe-s",
            reports.seal(payload, "probe-s", 1, KEY, secrets.token_bytes(12)),
            "mqtt://b/site/probe-s",
        ),
    ]
    admitted = [admission.admit(case) for case in cases]
    assert [a.values if a else None for a in admitted] == [
        {"voltage": 230.5},
        {"temperature": 21.5},
        {"temperature": 21.5},
        {"temperature": 21.5},
    ]
    assert not admission.rejections.counts


def test_refusals_are_counted_with_their_reason() -> None:
    admission = Admission(REGISTRY)
    payload = json.dumps({"t": 21.5}).encode()
    signed = reports.sign_hmac(payload, "probe-h", 5, KEY)
    cases = {
        ("ghost", "unknown-source"): reading("ghost", b"x", "mqtt://b/x"),
        ("off", "disabled-source"): reading("off", meter_frame(1), "modbus-tcp://10.0.0.5:502/4"),
        ("meter-1", "wrong-binding"): reading(
            "meter-1", meter_frame(1), "modbus-tcp://10.0.0.5:502/9"
        ),
        ("meter-1", "wrong-transport"): reading("meter-1", meter_frame(1), "mqtt://b/site"),
        ("meter-1", "out-of-range"): reading(
            "meter-1", meter_frame(5000), "modbus-tcp://10.0.0.5:502/3"
        ),
        ("probe-h", "bad-signature"): reading(
            "probe-h",
            reports.sign_hmac(payload, "probe-h", 6, secrets.token_bytes(32)),
            "mqtt://b/site/probe-h",
        ),
        ("probe-e", "bad-signature"): reading(
            "probe-e",
            reports.sign_ed25519(payload, "probe-h", 1, SIGNER),  # signed for another
            "mqtt://b/site/probe-e",
        ),
    }
    for case in cases.values():
        assert admission.admit(case) is None
    assert admission.admit(reading("probe-h", signed, "mqtt://b/site/probe-h")) is not None
    assert admission.admit(reading("probe-h", signed, "mqtt://b/site/probe-h")) is None
    expected = {**dict.fromkeys(cases, 1), ("probe-h", "replay"): 1}
    expected[("probe-h", "bad-signature")] = 1
    assert dict(admission.rejections.counts) == expected


def test_a_type_the_gateway_cannot_read_refuses_its_source_only() -> None:
    admission = Admission(REGISTRY)
    assert "probe-old" not in admission.types
    assert set(admission.types) == {s["name"] for s in REGISTRY["sources"]} - {"probe-old"}
    payload = json.dumps({"t": 21.5}).encode()
    assert admission.admit(reading("probe-old", payload, "mqtt://b/site/probe-old")) is None
    assert admission.rejections.counts == {("probe-old", "unsupported-type"): 1}
    admitted = admission.admit(
        reading("meter-1", meter_frame(230.5), "modbus-tcp://10.0.0.5:502/3")
    )
    assert admitted is not None and admitted.values == {"voltage": 230.5}


def sealed_for_cloud(counter: int, key: bytes = KEY, source_name: str = "probe-c") -> bytes:
    return reports.seal_for_cloud(b'{"t": 1}', source_name, counter, key, secrets.token_bytes(12))


def test_sealed_for_the_cloud_passes_unopened_once_its_sender_is_proven() -> None:
    admission = Admission(REGISTRY)
    envelope = sealed_for_cloud(9)
    admitted = admission.admit(reading("probe-c", envelope, "mqtt://b/site/probe-c"))
    assert admitted is not None
    sealed = admitted.values["sealed"]
    assert isinstance(sealed, str) and base64.b64decode(sealed) == envelope
    assert b'"t"' not in json.dumps(admitted.values).encode(), "the gateway never sees inside"
    assert admission.admit(reading("probe-c", envelope, "mqtt://b/site/probe-c")) is None
    assert admission.rejections.counts == {("probe-c", "replay"): 1}, "the tag covers the counter"


def test_sealed_for_the_cloud_refusals_at_the_gateway() -> None:
    admission = Admission(REGISTRY)
    good = json.loads(sealed_for_cloud(20))
    forged_tag = {**good, "tag": base64.b64encode(secrets.token_bytes(32)).decode()}
    ciphertext = bytearray(base64.b64decode(good["ciphertext"]))
    ciphertext[0] ^= 1
    tampered = {**good, "ciphertext": base64.b64encode(ciphertext).decode()}
    cases = [
        json.dumps(forged_tag).encode(),
        json.dumps(tampered).encode(),
        json.dumps({**good, "counter": 2**63 - 1}).encode(),  # a forged counter
        sealed_for_cloud(21, key=secrets.token_bytes(32)),  # wrong key
        sealed_for_cloud(22, source_name="probe-s"),  # sealed for another source
        json.dumps({k: v for k, v in good.items() if k != "tag"}).encode(),
    ]
    for raw in cases:
        assert admission.admit(reading("probe-c", raw, "mqtt://b/site/probe-c")) is None
    assert dict(admission.rejections.counts) == {
        ("probe-c", "bad-signature"): 5,
        ("probe-c", "malformed"): 1,
    }
    later = sealed_for_cloud(21)
    assert admission.admit(reading("probe-c", later, "mqtt://b/site/probe-c")) is not None, (
        "a forged counter is refused before it can move the replay guard"
    )


def test_the_gateway_key_for_a_cloud_sealed_source_does_not_open_it() -> None:
    envelope = sealed_for_cloud(5)
    gateway_key = reports.authentication_key(KEY)
    assert reports.verify_sealed_for_cloud(envelope, "probe-c", gateway_key) == 5
    with pytest.raises(reports.ReportRejected, match="bad-signature"):
        reports.open_sealed_for_cloud(envelope, "probe-c", gateway_key)
    with pytest.raises(reports.ReportRejected, match="bad-signature"):
        reports.open_sealed(envelope, "probe-c", gateway_key)  # as a bare AES-GCM key
    assert reports.open_sealed_for_cloud(envelope, "probe-c", KEY).payload == b'{"t": 1}'


def test_a_flood_of_identities_costs_bounded_memory() -> None:
    admission = Admission(REGISTRY)
    for n in range(MAX_TRACKED_REJECTIONS + 500):
        admission.admit(reading(f"rogue-{n}", b"x", "mqtt://b/x"))
    assert len(admission.rejections.counts) == MAX_TRACKED_REJECTIONS + 1
    assert admission.rejections.counts[("*", "overflow")] == 500


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([s["name"] for s in REGISTRY["sources"]] + ["ghost"]),
    raw=st.binary(max_size=300),
    origin=st.text(max_size=60),
)
def test_garbage_is_refused_never_raised(name: str, raw: bytes, origin: str) -> None:
    result = Admission(REGISTRY).admit(reading(name, raw, origin))
    assert result is None or result.source == name
