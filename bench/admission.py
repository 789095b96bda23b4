"""Gateway admission throughput per auth mode, beside the bare primitive it relies on.

Each mode admits the same number of prepared reports (fresh counters, so no
replay refusals) through :class:`~edgeward.gateway.admission.Admission`:
registry lookup, binding, the envelope's proof, the replay guard, decoding
and range checks. Next to it, measured in the same run in alternating
rounds, the primitive alone on the same bytes with ``cryptography`` or the
standard library: HMAC-SHA256 verify (``hmac`` and the sealed-for-cloud
sender tag), Ed25519 verify, AES-256-GCM open (sealed for the gateway).
Machines differ, so the ratio is the result: admission's rate as a fraction
of the primitive's, and what admission adds per reading. ``bound`` has no
primitive: its row is the floor of admission without cryptography.

Run: ``make bench`` or ``.venv/bin/python bench/admission.py``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import statistics
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgeward.drivers.base import Reading
from edgeward.gateway.admission import Admission
from edgeward.sync import reports

KEY = secrets.token_bytes(32)
SIGNER = Ed25519PrivateKey.generate()
PUBLIC = SIGNER.public_key()
PAYLOAD = json.dumps({"t": 21.5}).encode()
NOW = datetime.now(UTC)


def _mqtt(auth_mode: str, sealed_for: str | None = None) -> dict[str, Any]:
    return {
        "transport": "mqtt",
        "auth_mode": auth_mode,
        "sealed_for": sealed_for,
        "decoder": {"fields": {"temperature": "t"}},
        "fields": {"temperature": {"unit": "C", "min": -40, "max": 85}},
    }


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def registry() -> dict[str, Any]:
    """The shape the cloud signs (edgeward.sync.registry), one source per mode."""
    raw_public = PUBLIC.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    meter = {
        "transport": "modbus",
        "auth_mode": "bound",
        "sealed_for": None,
        "decoder": {"registers": [{"name": "voltage", "address": 0, "type": "float32"}]},
        "fields": {"voltage": {"unit": "V", "min": 0, "max": 1000}},
    }
    auth_key = reports.authentication_key(KEY)

    def source(name: str, source_type: dict[str, Any], **keys: str) -> dict[str, Any]:
        binding = {"bus": "modbus-tcp://b", "unit": 1} if name == "bound" else {"topic": name}
        entry = {"name": name, "enabled": True, "type": source_type, "binding": binding}
        return entry | {"key": None, "auth_key": None, "public_key": None} | keys

    return {
        "sources": [
            source("bound", meter),
            source("hmac", _mqtt("hmac"), key=_b64(KEY)),
            source("ed25519", _mqtt("ed25519"), public_key=_b64(raw_public)),
            source("sealed-gw", _mqtt("sealed", "gateway"), key=_b64(KEY)),
            source("sealed-cloud", _mqtt("sealed", "cloud"), auth_key=_b64(auth_key)),
        ]
    }


@dataclass(frozen=True, slots=True)
class Mode:
    """One auth mode: its prepared reports, and the bare primitive over the same bytes."""

    label: str
    primitive_label: str
    readings: list[Reading]
    primitive: Callable[[int], None] | None


def _reading(source: str, raw: bytes) -> Reading:
    origin = "modbus-tcp://b/1" if source == "bound" else f"mqtt://broker/{source}"
    return Reading(source, raw, NOW, origin)


def _envelopes(count: int) -> dict[str, list[bytes]]:
    counters = range(1, count + 1)
    nonces = [secrets.token_bytes(12) for _ in counters]
    return {
        "bound": [struct.pack(">f", 230.5)] * count,
        "hmac": [reports.sign_hmac(PAYLOAD, "hmac", n, KEY) for n in counters],
        "ed25519": [reports.sign_ed25519(PAYLOAD, "ed25519", n, SIGNER) for n in counters],
        "sealed-gw": [reports.seal(PAYLOAD, "sealed-gw", n, KEY, nonces[n - 1]) for n in counters],
        "sealed-cloud": [
            reports.seal_for_cloud(PAYLOAD, "sealed-cloud", n, KEY, nonces[n - 1]) for n in counters
        ],
    }


def _hmac_verify(message: bytes, mac: bytes) -> Callable[[int], None]:
    def run(count: int) -> None:
        for _ in range(count):
            expected = hmac.new(KEY, message, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, mac):
                raise AssertionError("the bench's own MAC does not verify")

    return run


def _ed25519_verify(message: bytes, signature: bytes) -> Callable[[int], None]:
    def run(count: int) -> None:
        for _ in range(count):
            PUBLIC.verify(signature, message)

    return run


def _aesgcm_open(nonce: bytes, sealed: bytes, associated: bytes) -> Callable[[int], None]:
    def run(count: int) -> None:
        aead = AESGCM(KEY)
        for _ in range(count):
            aead.decrypt(nonce, sealed, associated)

    return run


def modes(count: int) -> list[Mode]:
    envelopes = _envelopes(count)
    context = reports.context
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(KEY).encrypt(nonce, PAYLOAD, context("x", 1))
    tag_message = context("x", 1) + nonce + sealed
    primitives: dict[str, tuple[str, Callable[[int], None] | None]] = {
        "bound": ("(no primitive)", None),
        "hmac": (
            "HMAC-SHA256 verify",
            _hmac_verify(context("x", 1) + PAYLOAD, _mac(context("x", 1) + PAYLOAD)),
        ),
        "ed25519": (
            "Ed25519 verify",
            _ed25519_verify(context("x", 1) + PAYLOAD, SIGNER.sign(context("x", 1) + PAYLOAD)),
        ),
        "sealed-gw": ("AES-256-GCM open", _aesgcm_open(nonce, sealed, context("x", 1))),
        "sealed-cloud": ("HMAC-SHA256 verify", _hmac_verify(tag_message, _mac(tag_message))),
    }
    labels = {
        "bound": "bound",
        "hmac": "hmac",
        "ed25519": "ed25519",
        "sealed-gw": "sealed for gateway",
        "sealed-cloud": "sealed for cloud (verify)",
    }
    return [
        Mode(
            labels[name],
            primitives[name][0],
            [_reading(name, raw) for raw in envelopes[name]],
            primitives[name][1],
        )
        for name in envelopes
    ]


def _mac(message: bytes) -> bytes:
    return hmac.new(KEY, message, hashlib.sha256).digest()


def admission_seconds(mode: Mode, document: dict[str, Any]) -> float:
    admission = Admission(document)  # a fresh replay guard: every counter is new
    started = time.perf_counter()
    for reading in mode.readings:
        if admission.admit(reading) is None:
            raise AssertionError(f"{mode.label}: refused {dict(admission.rejections.counts)}")
    return time.perf_counter() - started


def primitive_seconds(mode: Mode) -> float:
    assert mode.primitive is not None
    started = time.perf_counter()
    mode.primitive(len(mode.readings))
    return time.perf_counter() - started


@dataclass(slots=True)
class Result:
    admission_rates: list[float]
    primitive_rates: list[float]
    ratios: list[float]
    added_us: list[float]


def measure(all_modes: list[Mode], rounds: int) -> dict[str, Result]:
    document = registry()
    results = {mode.label: Result([], [], [], []) for mode in all_modes}
    for index in range(rounds):
        for mode in all_modes:
            count = len(mode.readings)
            # Alternate which goes first, so load arriving or leaving falls on both.
            first_admission = index % 2 == 0
            if mode.primitive is None:
                results[mode.label].admission_rates.append(
                    count / admission_seconds(mode, document)
                )
                continue
            if first_admission:
                admitted = admission_seconds(mode, document)
                bare = primitive_seconds(mode)
            else:
                bare = primitive_seconds(mode)
                admitted = admission_seconds(mode, document)
            result = results[mode.label]
            result.admission_rates.append(count / admitted)
            result.primitive_rates.append(count / bare)
            result.ratios.append(bare / admitted)
            result.added_us.append((admitted - bare) / count * 1e6)
    return results


def report(all_modes: list[Mode], results: dict[str, Result], rounds: int) -> None:
    count = len(all_modes[0].readings)
    print(f"gateway admission: {rounds} alternating rounds of {count:,} reports per mode")
    header = f"{'auth mode':<27}{'admission/s':>12}  {'bare primitive':<20}{'primitive/s':>12}"
    print(header + f"{'ratio':>8}{'added/reading':>15}")
    for mode in all_modes:
        result = results[mode.label]
        admitted = statistics.median(result.admission_rates)
        if not result.primitive_rates:
            print(f"{mode.label:<27}{admitted:>12,.0f}  {mode.primitive_label:<20}")
            continue
        bare = statistics.median(result.primitive_rates)
        ratio = statistics.median(result.ratios)
        added_us = statistics.median(result.added_us)
        print(
            f"{mode.label:<27}{admitted:>12,.0f}  {mode.primitive_label:<20}{bare:>12,.0f}"
            f"{ratio:>7.2f}x{added_us:>12.1f} us"
        )
    print(
        "ratio: admission's rate as a fraction of the bare primitive's; added: admission's"
        " time per reading beyond the primitive's (medians of paired rounds)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    all_modes = modes(args.reports)
    report(all_modes, measure(all_modes, args.rounds), args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
