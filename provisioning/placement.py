"""Where ``edgeward devices add`` puts a source in gateway.toml, from its binding.

The binding says where the device is, in the cloud's words (the keys
``POST /v1/data-sources`` takes per transport); the type's transport says
which kind of section binds it:

- Modbus ``bus=modbus-tcp://HOST:PORT`` and ``unit=N``: a
  ``[[modbus_tcp.devices]]`` entry of the ``[[modbus_tcp]]`` with that host
  and port (made if missing); ``bus=modbus-rtu:///dev/ttyX``: the same for
  ``[[modbus_rtu]]`` on that port;
- serial ``port=``: a ``[[serial]]`` of its own;
- MQTT ``topic=``: a ``[[mqtt.subscriptions]]`` entry of the broker given
  (``--broker HOST:PORT``, made if missing) or of the only ``[[mqtt]]``;
- BLE ``address=``: a ``[[ble.devices]]`` entry (``[ble]`` made if missing).

Nothing else goes in: what to read and how is the type's. A source already
in gateway.toml, or a port, address or topic another source holds, is
refused naming the entry that holds it (see :func:`refuse_taken`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tomlkit.toml_document import TOMLDocument

from edgeward.gateway.config.loader import GatewayConfig
from edgeward.gateway.config.places import Binding, bindings
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.gateway_toml import append_table, ensure_table

# The binding keys the cloud requires per transport (cloud/datasources/sources.py),
# and the one it accepts beside them.
BINDING_KEYS: dict[str, tuple[str, ...]] = {
    "modbus": ("bus", "unit"),
    "serial": ("port",),
    "ble": ("address",),
    "mqtt": ("topic",),
}
OPTIONAL_KEYS = ("serial_number",)
MODBUS_TCP_PORT = 502
MQTT_PORT = 1883
# The array each kind's entries sit in, inside their bus, broker or [ble].
CHILDREN = {
    "modbus_tcp": "devices",
    "modbus_rtu": "devices",
    "mqtt": "subscriptions",
    "ble": "devices",
}


@dataclass(frozen=True, slots=True)
class Placement:
    """A new device entry: ``kind`` is gateway.toml's array (``modbus_tcp``,
    ``serial``, ...). A bus, broker or ``[ble]`` the entry belongs to is
    ``parent`` (its index in that array) or, when missing, ``new_parent``
    (its keys); an entry of its own (``[[serial]]``) has neither."""

    kind: str
    entry: dict[str, Any]
    parent: int | None = None
    new_parent: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def child(self) -> str | None:
        """The array the entry joins inside its parent (None: it is a section itself)."""
        return CHILDREN.get(self.kind)


def parse_pairs(entries: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` arguments; digits become integers, as the cloud's ``unit`` is."""
    binding: dict[str, Any] = {}
    for entry in entries:
        key, separator, value = entry.partition("=")
        if not separator or not key or not value:
            raise UsageError(f"--binding: expected KEY=VALUE, found {entry!r}")
        if key in binding:
            raise UsageError(f"--binding: {key} given twice")
        binding[key] = int(value) if value.isdigit() else value
    return binding


def check_keys(transport: str, binding: dict[str, Any], *, required: bool = True) -> None:
    """``binding``'s keys are the transport's (all of them, if ``required``)."""
    needed = BINDING_KEYS[transport]
    for key in binding:
        if key not in needed and key not in OPTIONAL_KEYS:
            raise UsageError(
                f"--binding {key}: a {transport} source is bound by "
                f"{' and '.join(needed)} ({', '.join(OPTIONAL_KEYS)} optional), not {key}"
            )
    missing = [key for key in needed if key not in binding] if required else []
    if missing:
        example = {"modbus": "bus=modbus-tcp://10.0.0.5:502 --binding unit=9"}.get(
            transport, f"{needed[0]}=..."
        )
        raise UsageError(
            f"--binding: a {transport} source is bound by {' and '.join(needed)}; "
            f"missing {', '.join(missing)} (e.g. --binding {example})"
        )


def parse_bus(text: str) -> tuple[str, dict[str, Any]]:
    """``modbus-tcp://HOST[:PORT]`` or ``modbus-rtu:///dev/ttyX``: (array, its identifying keys)."""
    parts = urlsplit(text)
    if parts.scheme == "modbus-tcp" and parts.hostname and parts.path in ("", "/"):
        try:
            port = parts.port or MODBUS_TCP_PORT
        except ValueError as exc:
            raise UsageError(f"--binding bus={text}: {exc}") from exc
        return "modbus_tcp", {"host": parts.hostname, "port": port}
    if parts.scheme == "modbus-rtu" and not parts.netloc and parts.path.startswith("/"):
        return "modbus_rtu", {"port": parts.path}
    raise UsageError(
        f"--binding bus={text}: expected modbus-tcp://HOST:PORT or modbus-rtu:///dev/ttyX"
    )


def parse_broker(text: str) -> dict[str, Any]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(MQTT_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--broker {text}: expected HOST:PORT, e.g. 10.0.0.7:1883")
    return {"host": host.strip("[]"), "port": int(port)}


def placement(
    config: GatewayConfig,
    transport: str,
    source: str,
    binding: dict[str, Any],
    *,
    poll_interval: float | None = None,
    broker: str | None = None,
    baudrate: int | None = None,
) -> Placement:
    """The entry ``devices add`` writes for ``binding`` in ``config`` (gateway.toml as it is)."""
    check_keys(transport, binding)
    polled = {"poll_interval": poll_interval} if poll_interval is not None else {}
    if transport == "mqtt" and poll_interval is not None:
        raise UsageError("--poll-interval: an MQTT device publishes when it likes; none to set")
    if baudrate is not None and transport not in ("serial", "modbus"):
        raise UsageError(f"--baudrate: a {transport} device has no baud rate")
    if transport == "modbus":
        return _modbus(config, source, binding, polled, baudrate)
    if transport == "serial":
        speed = {"baudrate": baudrate} if baudrate is not None else {}
        return Placement("serial", {"port": binding["port"], **speed, "source": source, **polled})
    if transport == "ble":
        entry = {"address": str(binding["address"]).upper(), "source": source, **polled}
        return Placement("ble", entry, parent=0 if config.ble else None, new_parent={})
    return _mqtt(config, source, binding, broker)


def _modbus(
    config: GatewayConfig,
    source: str,
    binding: dict[str, Any],
    polled: dict[str, Any],
    baudrate: int | None,
) -> Placement:
    kind, keys = parse_bus(str(binding["bus"]))
    entry = {"source": source, "unit": binding["unit"], **polled}
    if kind == "modbus_tcp":
        if baudrate is not None:
            raise UsageError("--baudrate: a Modbus TCP endpoint has no baud rate")
        for index, endpoint in enumerate(config.modbus_tcp):
            if (endpoint.host, endpoint.port) == (keys["host"], keys["port"]):
                return Placement(kind, entry, parent=index)
        return Placement(kind, entry, new_parent=keys)
    for index, bus in enumerate(config.modbus_rtu):
        if bus.port == keys["port"]:
            if baudrate is not None and baudrate != bus.baudrate:
                raise UsageError(
                    f"--baudrate {baudrate}: modbus_rtu[{index}] runs {bus.port} at "
                    f"{bus.baudrate} baud, and every unit on a bus shares its speed"
                )
            return Placement(kind, entry, parent=index)
    speed = {"baudrate": baudrate} if baudrate is not None else {}
    return Placement(kind, entry, new_parent={**keys, **speed})


def _mqtt(
    config: GatewayConfig, source: str, binding: dict[str, Any], broker: str | None
) -> Placement:
    entry = {"source": source, "topic": binding["topic"]}
    brokers = [(mqtt.broker.host, mqtt.broker.port) for mqtt in config.mqtt]
    if broker is not None:
        wanted = parse_broker(broker)
        for index, known in enumerate(brokers):
            if known == (wanted["host"], wanted["port"]):
                return Placement("mqtt", entry, parent=index)
        note = (
            f"a new [[mqtt]] for {wanted['host']}:{wanted['port']}, without credentials or "
            "TLS: add username, password_file or [mqtt.tls] to it if the broker needs them"
        )
        return Placement("mqtt", entry, new_parent=wanted, notes=[note])
    if len(brokers) == 1:
        return Placement("mqtt", entry, parent=0)
    listed = ", ".join(f"{host}:{port}" for host, port in brokers) or "none in gateway.toml"
    raise UsageError(f"--broker HOST:PORT: which broker the topic is on ({listed})")


def refuse_taken(config: GatewayConfig, source: str, where: Placement) -> list[str]:
    """Refuse a source or a place another entry holds; notes on what may be shared."""
    bound = list(bindings(config))
    for existing in bound:
        if existing.source == source:
            raise UsageError(
                f"{source} is in gateway.toml already: {existing.key} ({_place(existing)})",
                hint="remove that entry first to bind it elsewhere; nothing was registered",
            )
    notes = list(where.notes)
    if where.kind == "modbus_tcp" or where.kind == "modbus_rtu":
        bus = _bus(where, config)
        for existing in bound:
            if existing.binding == {"bus": bus, "unit": where.entry["unit"]}:
                # Allowed: one unit may hold several data sets (a meter's channels,
                # a Modbus gateway's bank for several devices), each read by its own
                # type from its own registers; admission binds each to the same bus
                # and unit, and their polls share the bus like any two units'.
                notes.append(
                    f"unit {where.entry['unit']} on {bus} is read for {existing.source} too "
                    f"({existing.key}); each source reads its own type's registers"
                )
    for key, holder, what in _exclusive(config, where):
        raise UsageError(
            f"{what} is taken: {key} reads it for {holder}",
            hint="one section per port or device: two readers would each get half the frames",
        )
    return notes


def _exclusive(config: GatewayConfig, where: Placement) -> list[tuple[str, str, str]]:
    """(key, its source or bus, what) of each entry that holds the place ``where`` needs."""
    taken: list[tuple[str, str, str]] = []
    if where.kind == "serial" or (where.kind == "modbus_rtu" and where.parent is None):
        port = where.entry["port"] if where.kind == "serial" else (where.new_parent or {})["port"]
        taken += [
            (f"serial[{i}]", s.source, f"serial port {port}")
            for i, s in enumerate(config.serial)
            if s.port == port
        ]
        if where.kind == "serial":
            taken += [
                (f"modbus_rtu[{i}]", f"its Modbus units ({b.bus})", f"serial port {port}")
                for i, b in enumerate(config.modbus_rtu)
                if b.port == port
            ]
    elif where.kind == "ble" and config.ble is not None:
        address = where.entry["address"]
        taken += [
            (f"ble.devices[{i}]", d.source, f"BLE address {address}")
            for i, d in enumerate(config.ble.devices)
            if d.match.address == address
        ]
    elif where.kind == "mqtt" and where.parent is not None:
        broker = config.mqtt[where.parent]
        topic = where.entry["topic"]
        taken += [
            (
                f"mqtt[{where.parent}].subscriptions[{i}]",
                s.source,
                f"topic {topic} on {broker.broker.url}",
            )
            for i, s in enumerate(broker.subscriptions)
            if s.topic == topic
        ]
    return taken


def place(document: TOMLDocument, where: Placement) -> None:
    """Write the entry of ``where`` into ``document`` (gateway.toml, parsed by tomlkit)."""
    child = where.child
    if child is None:
        append_table(document, where.kind, where.entry)
    elif where.kind == "ble":
        append_table(ensure_table(document, "ble"), child, where.entry)
    elif where.parent is not None:
        append_table(document[where.kind][where.parent], child, where.entry)
    else:
        append_table(document, where.kind, {**(where.new_parent or {}), child: [where.entry]})


def _bus(where: Placement, config: GatewayConfig) -> str:
    if where.parent is not None:
        sections = config.modbus_tcp if where.kind == "modbus_tcp" else config.modbus_rtu
        return sections[where.parent].bus
    keys = where.new_parent or {}
    if where.kind == "modbus_tcp":
        return f"modbus-tcp://{keys['host']}:{keys['port']}"
    return f"modbus-rtu://{keys['port']}"


def _place(binding: Binding) -> str:
    return ", ".join(f"{key} {value}" for key, value in binding.binding.items()) or "no address"
