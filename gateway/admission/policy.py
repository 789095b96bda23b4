"""Admission: only readings of registered, active sources get in, proven and decoded.

Every reading a driver hands up passes, in order: the source is in the
verified registry and enabled; it arrived over its type's transport and from
where it is bound (bus and unit, port, BLE address, MQTT topic); its
signature or seal holds (``hmac``, ``ed25519``, ``sealed`` types); its counter
is newer than any seen from it (no replay); its payload decodes; every field
lies in its declared range. The first failed check is the reason, counted by
(source, reason) in :class:`RejectionCounts` and never raised further.

A refusal says why (:class:`~edgeward.drivers.base.Refusal`): the reason, the
decoder's message, and where a decoder named them the field at fault and a
short rendering of its value (:func:`edgeward.sync.reports.render_value`).
Only decoding refusals (:data:`VALUE_REASONS`) keep a value: every other
reason concerns the envelope, the proof or the binding, and a value there
could be a MAC, a signature or a report whole. Messages are cut to
:data:`MAX_DETAIL` characters, since a device chooses what they quote.

Sources of ``sealed`` types that only the cloud may open pass with their
envelope untouched (``{"sealed": "<base64>"}``) once the sender's tag holds:
the registry gives the gateway the source's authentication key, derived from
the source key (HKDF-SHA256, RFC 5869; see :mod:`edgeward.sync.reports`),
never a key that opens the payload. The tag covers the counter, so these
counters move the replay guard like any other authenticated counter.

Before a gateway has ever held a verified registry it admits nothing: every
reading is refused as ``no-registry`` (counted and reported like any other
refusal), because admitting unproven data "until the registry arrives" is the
hole this module closes. :meth:`Admission.use` swaps in a newer registry
whole, between two readings, so a source disabled at the cloud is refused
from the first reading after the pull that carried the change. A source whose
type this gateway's decoders can't build is refused as ``unsupported-type``.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from edgeward.drivers.base import Reading, Refusal
from edgeward.sync import reports
from edgeward.sync.errors import SpecError
from edgeward.sync.reports import FrameIgnored, ReportRejected
from edgeward.sync.source_types import TypeSpec, spec_of
from edgeward.sync.source_types.decoders import Decoder, Value, build_decoder, range_check

# Origin URL schemes per transport (drivers write origins; see Reading.origin).
SCHEMES = {
    "modbus": ("modbus-tcp", "modbus-rtu"),
    "serial": ("serial",),
    "ble": ("ble",),
    "mqtt": ("mqtt", "mqtts"),
}
MAX_TRACKED_REJECTIONS = 10_000
# The reasons whose refusal may show the value at fault: the payload decoded,
# its proof (if any) held, and the value is a field's, never a credential's.
VALUE_REASONS = frozenset({"undecodable", "out-of-range", "checksum"})
MAX_DETAIL = 200
MAX_FIELD = 128


def refusal_of(rejected: ReportRejected) -> Refusal:
    """What may be kept, logged and reported of ``rejected``: bounded, no credential."""
    detail = _printable(rejected.detail)
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    field = _printable(rejected.field)[:MAX_FIELD] if rejected.field else None
    value = rejected.value if rejected.reason in VALUE_REASONS else None
    return Refusal(rejected.reason, detail, field, None if value is None else _printable(value))


def _printable(text: str) -> str:
    """``text``, escaped if a device put in it what must not reach a log line or the
    cloud's store as is (a newline that forges a log line, a lone surrogate)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


class ReplayGuard(Protocol):
    def last(self, source: str) -> int: ...
    def advance(self, source: str, counter: int) -> None: ...


class MemoryReplayGuard:
    """Highest counter seen per source; the gateway's store persists it across restarts."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def last(self, source: str) -> int:
        return self._last.get(source, 0)

    def advance(self, source: str, counter: int) -> None:
        self._last[source] = max(counter, self._last.get(source, 0))


@dataclass(frozen=True, slots=True)
class Admitted:
    source: str
    values: dict[str, Value]


@dataclass
class RejectionCounts:
    """Rejections by (source, reason), bounded: a flood of distinct rogue identities
    folds into one overflow row rather than growing without limit.

    Beside the counts: the latest refusal of each counted (source, reason),
    which its security-event row reports, and of each source, which status
    and the log show. Both are bounded like the counts.
    """

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The (source, reason) of the latest refusal, as given (before any overflow folding).
    last: tuple[str, str] | None = None
    # The latest refusal of each key in ``counts`` (none for the overflow row).
    latest: dict[tuple[str, str], Refusal] = field(default_factory=dict)
    # The latest refusal of each source since start.
    by_source: dict[str, Refusal] = field(default_factory=dict)

    def add(self, source: str, reason: str, refusal: Refusal | None = None) -> None:
        key = self.last = (source, reason)
        if key not in self.counts and len(self.counts) >= MAX_TRACKED_REJECTIONS:
            key = ("*", "overflow")
        self.counts[key] += 1
        if refusal is None:
            return
        if key == self.last:  # not folded into the overflow row, which names nobody
            self.latest[key] = refusal
        if source in self.by_source or len(self.by_source) < MAX_TRACKED_REJECTIONS:
            self.by_source[source] = refusal

    def drain(self) -> tuple[Counter[tuple[str, str]], dict[tuple[str, str], Refusal]]:
        """The counts since the last drain, and the latest refusal of each of their keys."""
        drained, self.counts = self.counts, Counter()
        latest, self.latest = self.latest, {}
        return drained, latest


@dataclass(frozen=True, slots=True)
class _Source:
    entry: Mapping[str, Any]
    # None: a type this gateway can't read (a newer cloud's spec).
    spec: TypeSpec | None
    decode: Decoder
    check_ranges: Callable[[dict[str, Value]], None]
    # Read from the entry once: admission looks at them for every reading.
    enabled: bool
    bound: bool


class Admission:
    def __init__(
        self, registry: Mapping[str, Any] | None, replay: ReplayGuard | None = None
    ) -> None:
        """``registry``: a document :func:`edgeward.sync.registry.verify_registry` returned,
        or None before the gateway ever had one (then nothing is admitted)."""
        self.replay = replay or MemoryReplayGuard()
        self.rejections = RejectionCounts()
        self._sources: dict[str, _Source] | None = None
        # Per source, the last origin that passed the binding check.
        self._origins_checked: dict[str, str] = {}
        if registry is not None:
            self.use(registry)

    @property
    def has_registry(self) -> bool:
        return self._sources is not None

    def use(self, registry: Mapping[str, Any]) -> None:
        """Admit by ``registry`` from now on: built aside, then swapped in one assignment."""
        sources = {}
        for entry in registry["sources"]:
            spec: TypeSpec | None
            try:
                spec = spec_of(entry["type"])
                decode = build_decoder(spec)
            except (SpecError, KeyError, TypeError):
                # A type this gateway can't read (a newer cloud's spec): its
                # source is refused with a reason rather than the registry whole.
                spec, decode = None, _unbuildable
            checker = range_check(spec.fields if spec is not None else {})
            sources[entry["name"]] = _Source(
                entry,
                spec,
                decode,
                checker,
                enabled=bool(entry["enabled"]),
                bound=entry["type"].get("auth_mode") == "bound",
            )
        self._sources = sources
        self._origins_checked = {}

    @property
    def types(self) -> dict[str, TypeSpec]:
        """The type of every registered source whose type this gateway reads."""
        return {
            name: source.spec
            for name, source in (self._sources or {}).items()
            if source.spec is not None
        }

    def admit(self, reading: Reading) -> Admitted | None:
        """The decoded reading, or None after counting why it was refused (or if its
        type passes over the frame)."""
        try:
            return self._admit(reading)
        except FrameIgnored:
            return None
        except ReportRejected as rejected:
            refusal = refusal_of(rejected)
            self.rejections.add(reading.source, refusal.reason, refusal)
            return None

    def decide(self, reading: Reading) -> Admitted | Refusal | None:
        """The decoded reading, why it was refused (counted and kept), or None for a
        frame its type passes over on purpose (``unmatched: ignore``)."""
        try:
            return self._admit(reading)
        except FrameIgnored:
            return None
        except ReportRejected as rejected:
            refusal = refusal_of(rejected)
            self.rejections.add(reading.source, refusal.reason, refusal)
            return refusal

    def _admit(self, reading: Reading) -> Admitted:
        if self._sources is None:
            raise ReportRejected("no-registry", "no verified registry yet: nothing is admitted")
        source = self._sources.get(reading.source)
        if source is None:
            raise ReportRejected("unknown-source", f"{reading.source} is not registered")
        if not source.enabled:
            raise ReportRejected("disabled-source", f"{reading.source} is disabled")
        # A source's readings come from one place: its origin is parsed once.
        if self._origins_checked.get(reading.source) != reading.origin:
            entry = source.entry
            _check_origin(entry["type"]["transport"], entry["binding"], reading.origin)
            self._origins_checked[reading.source] = reading.origin
        if source.bound:  # the hot path: nothing to open, no counter
            values = source.decode(reading.raw, reading.origin)
            source.check_ranges(values)
            return Admitted(reading.source, values)
        return self._authenticated(reading, source)

    def _authenticated(self, reading: Reading, source: _Source) -> Admitted:
        opened = self._open(reading, source.entry)
        if opened.counter is not None and opened.counter <= self.replay.last(reading.source):
            raise ReportRejected("replay", f"counter {opened.counter} was seen before")
        if opened.sealed_for_cloud:
            values: dict[str, Value] = {"sealed": base64.b64encode(reading.raw).decode()}
        else:
            values = source.decode(opened.payload, reading.origin)
            source.check_ranges(values)
        # Every counter here is authenticated (signature, seal or sender tag):
        # a forged one is refused above and never locks the real device out.
        if opened.counter is not None:
            self.replay.advance(reading.source, opened.counter)
        return Admitted(reading.source, values)

    def _open(self, reading: Reading, entry: Mapping[str, Any]) -> _Opened:
        mode = entry["type"]["auth_mode"]
        if mode == "bound":
            return _Opened(None, reading.raw)
        if mode == "hmac":
            opened = reports.open_hmac(reading.raw, reading.source, _key(entry))
        elif mode == "ed25519":
            opened = reports.open_ed25519(reading.raw, reading.source, entry["public_key"])
        elif entry["type"]["sealed_for"] == "gateway":
            opened = reports.open_sealed(reading.raw, reading.source, _key(entry))
        else:
            auth_key = _key(entry, "auth_key")
            counter = reports.verify_sealed_for_cloud(reading.raw, reading.source, auth_key)
            return _Opened(counter, reading.raw, sealed_for_cloud=True)
        return _Opened(opened.counter, opened.payload)


@dataclass(frozen=True, slots=True)
class _Opened:
    counter: int | None
    payload: bytes
    sealed_for_cloud: bool = False


def _unbuildable(payload: bytes, origin: str) -> dict[str, Value]:
    raise ReportRejected("unsupported-type", "this gateway can't decode the source's type")


def _key(entry: Mapping[str, Any], name: str = "key") -> bytes:
    """``key`` (the source key) or ``auth_key`` (sealed for the cloud: the sender's only)."""
    if not entry.get(name):
        raise ReportRejected("no-credentials", "the registry holds no key for this source")
    return base64.b64decode(entry[name])


def _check_origin(transport: str, binding: Mapping[str, Any], origin: str) -> None:
    """The reading came over the type's transport, from where the source is bound."""
    try:
        parts = urlsplit(origin)
    except ValueError as exc:  # e.g. an unbalanced "[" where an IPv6 host would go
        raise ReportRejected("wrong-transport", "the origin is not a URL") from exc
    if parts.scheme not in SCHEMES[transport]:
        raise ReportRejected("wrong-transport", f"{origin} is not a {transport} origin")
    where = origin.split("://", 1)[1]
    if transport == "modbus":
        bus, _, unit = origin.rpartition("/")
        if binding.get("bus") != bus or str(binding.get("unit")) != unit:
            raise ReportRejected("wrong-binding", f"{origin} is not {binding}")
    elif transport == "serial":
        if where.rstrip("/") != str(binding.get("port", "")).rstrip("/"):
            raise ReportRejected("wrong-binding", f"{origin} is not port {binding.get('port')}")
    elif transport == "ble":
        # Not urlsplit's hostname: a MAC address's colons read as a port separator.
        address = where.split("/", 1)[0]
        if address.upper() != str(binding.get("address", "")).upper():
            raise ReportRejected("wrong-binding", f"{origin} is not {binding.get('address')}")
    elif parts.path.lstrip("/") != str(binding.get("topic", "")):
        raise ReportRejected("wrong-binding", f"{origin} is not topic {binding.get('topic')}")
