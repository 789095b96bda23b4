"""Admission throughput per auth mode, beside the bare primitive each mode rests on.

For ``hmac``, ``ed25519``, ``sealed`` reports opened at the gateway and
``sealed`` reports sealed for the cloud (whose sender tag the gateway
verifies with the derived authentication key, the payload staying sealed),
and for ``bound`` Modbus frames, it measures readings/s through
:class:`edgeward.gateway.admission.policy.Admission` (origin and binding checks,
envelope parsing, the replay guard in admission.db as the runtime keeps it,
decoding, ranges) and, in the same run, the bare primitive on the same
bytes: HMAC-SHA256 verify (``hmac`` and the sealed-for-cloud tag), Ed25519
verify, AES-GCM open, and for ``bound`` the register-map decode alone (the
type's :class:`~edgeward.sync.source_types.modbus.RegisterPlan`).
Rounds alternate between the two so load arriving or leaving falls on both;
the ratio is what to read, not the absolute rate.

Run: ``make bench`` or ``.venv/bin/python bench/admission.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import shutil
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.drivers.base import Reading
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.sync import reports
from edgeward.sync.source_types import spec_of
from edgeward.sync.source_types.modbus import RegisterPlan
from edgeward.sync.source_types.spec import ModbusType

KEY = secrets.token_bytes(32)
AUTH_KEY = reports.authentication_key(KEY)  # what the registry gives for sealed-for-cloud
SIGNER = Ed25519PrivateKey.generate()
PUBLIC = SIGNER.public_key()
PUBLIC_B64 = base64.b64encode(
    PUBLIC.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
).decode()
PAYLOAD = json.dumps({"t": 21.5, "h": 40}).encode()
MQTT_DECODER = {
    "format": "json",
    "fields": [{"name": "temperature", "path": "t"}, {"name": "humidity", "path": "h"}],
}
REGISTERS = [
    {"name": "voltage", "address": 0, "type": "float32"},
    {"name": "energy", "address": 2, "type": "uint32"},
]
NOW = datetime.now(UTC)


def source(name: str, transport: str, mode: str, decoder: Any, binding: Any) -> dict[str, Any]:
    return {
        "name": name,
        "enabled": True,
        "binding": binding,
        "type": {
            "transport": transport,
            "auth_mode": "sealed" if mode == "sealed-cloud" else mode,
            "sealed_for": {"sealed": "gateway", "sealed-cloud": "cloud"}.get(mode),
            "decoder": decoder,
            "fields": {},
        },
        "key": base64.b64encode(KEY).decode() if mode in ("hmac", "sealed") else None,
        "auth_key": base64.b64encode(AUTH_KEY).decode() if mode == "sealed-cloud" else None,
        "public_key": PUBLIC_B64 if mode == "ed25519" else None,
    }


REGISTRY = {
    "sources": [
        source(
            "meter",
            "modbus",
            "bound",
            {"registers": REGISTERS},
            {"bus": "modbus-tcp://m:502", "unit": 1},
        ),
        source("probe-hmac", "mqtt", "hmac", MQTT_DECODER, {"topic": "p/h"}),
        source("probe-ed25519", "mqtt", "ed25519", MQTT_DECODER, {"topic": "p/e"}),
        source("probe-sealed", "mqtt", "sealed", MQTT_DECODER, {"topic": "p/s"}),
        source("probe-sealed-cloud", "mqtt", "sealed-cloud", MQTT_DECODER, {"topic": "p/c"}),
    ]
}


def prepared(mode: str, count: int) -> tuple[list[Reading], Callable[[int], object]]:
    """``count`` readings of ``mode``'s source, each with a fresh counter, and the bare
    primitive over the same bytes (index -> one verification)."""
    if mode == "bound":
        frame = struct.pack(">fI", 230.5, 7)
        meter = spec_of(REGISTRY["sources"][0]["type"])
        assert isinstance(meter, ModbusType)
        plan = RegisterPlan(meter.decoder)
        readings = [Reading("meter", frame, NOW, "modbus-tcp://m:502/1")] * count
        return readings, lambda i: plan.decode(frame)
    topics = {"hmac": "p/h", "ed25519": "p/e", "sealed": "p/s", "sealed-cloud": "p/c"}
    name, topic = f"probe-{mode}", topics[mode]
    raws = [_report(mode, name, n) for n in range(1, count + 1)]
    readings = [Reading(name, raw, NOW, f"mqtt://b:1883/{topic}") for raw in raws]
    contexts = [reports.context(name, n) for n in range(1, count + 1)]
    if mode == "hmac":
        macs = [hmac.new(KEY, c + PAYLOAD, hashlib.sha256).digest() for c in contexts]
        return readings, lambda i: _check(
            hmac.compare_digest(
                hmac.new(KEY, contexts[i] + PAYLOAD, hashlib.sha256).digest(), macs[i]
            )
        )
    if mode == "ed25519":
        signatures = [SIGNER.sign(c + PAYLOAD) for c in contexts]
        return readings, lambda i: PUBLIC.verify(signatures[i], contexts[i] + PAYLOAD)
    if mode == "sealed-cloud":
        return readings, _tag_verify(raws)
    sealed = [(secrets.token_bytes(12), c) for c in contexts]
    boxes = [AESGCM(KEY).encrypt(nonce, PAYLOAD, c) for nonce, c in sealed]
    return readings, lambda i: _check(
        AESGCM(KEY).decrypt(sealed[i][0], boxes[i], sealed[i][1]) == PAYLOAD
    )


def _check(ok: bool) -> None:
    if not ok:
        raise SystemExit("a bare primitive failed to verify its own input")


def _tag_verify(raws: list[bytes]) -> Callable[[int], object]:
    """The bare HMAC-SHA256 verify of each envelope's sender tag, with the authentication
    key (message: context, nonce, ciphertext), on bytes already out of the envelope."""
    parts = []
    for raw in raws:
        document = json.loads(raw)
        nonce, sealed, tag = (
            base64.b64decode(document[key]) for key in ("nonce", "ciphertext", "tag")
        )
        message = reports.context("probe-sealed-cloud", document["counter"]) + nonce + sealed
        parts.append((message, tag))
    return lambda i: _check(
        hmac.compare_digest(hmac.new(AUTH_KEY, parts[i][0], hashlib.sha256).digest(), parts[i][1])
    )


def _report(mode: str, name: str, counter: int) -> bytes:
    if mode == "hmac":
        return reports.sign_hmac(PAYLOAD, name, counter, KEY)
    if mode == "ed25519":
        return reports.sign_ed25519(PAYLOAD, name, counter, SIGNER)
    if mode == "sealed-cloud":
        return reports.seal_for_cloud(PAYLOAD, name, counter, KEY, secrets.token_bytes(12))
    return reports.seal(PAYLOAD, name, counter, KEY, secrets.token_bytes(12))


def rate(work: Callable[[int], object], count: int) -> float:
    started = time.perf_counter()
    for index in range(count):
        work(index)
    return count / (time.perf_counter() - started)


def admitting(
    admission: Admission, readings: list[Reading], results: list[object]
) -> Callable[[int], object]:
    return lambda i: results.append(admission.admit(readings[i]))


def measure(mode: str, count: int, rounds: int) -> tuple[float, float]:
    """(median admission rate, median bare rate) in readings/s over alternating rounds."""
    admitted, bare = [], []
    for _ in range(rounds):
        readings, primitive = prepared(mode, count)
        directory = Path(tempfile.mkdtemp(prefix="edgeward-bench-"))
        store = AdmissionStore(directory / "admission.db")  # the runtime's replay guard
        admission = Admission(REGISTRY, replay=store)
        results: list[object] = []
        admitted.append(rate(admitting(admission, readings, results), count))
        if any(result is None for result in results):
            refused = admission.rejections.counts
            raise SystemExit(f"{mode}: admission refused its own reports: {refused}")
        bare.append(rate(primitive, count))
        store.close()
        shutil.rmtree(directory)
    return statistics.median(admitted), statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"admission throughput, {args.readings} readings x {args.rounds} rounds (medians)")
    for mode, primitive in (
        ("bound", "register-map decode"),
        ("hmac", "HMAC-SHA256 verify"),
        ("ed25519", "Ed25519 verify"),
        ("sealed", "AES-GCM open"),
        ("sealed-cloud", "HMAC-SHA256 tag verify"),
    ):
        admitted, bare = measure(mode, args.readings, args.rounds)
        print(
            f"{mode:>12}: admission {admitted:>9,.0f}/s; bare {primitive} {bare:>9,.0f}/s; "
            f"admission runs at {admitted / bare:.2f}x the bare primitive's rate"
        )


if __name__ == "__main__":
    main()
