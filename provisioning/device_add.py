"""``edgeward devices add``: bind a device in gateway.toml and register it as a data source.

The installer names the source, its data-source type (a ``builtin:`` one, or
the account's, fetched with the installer's token) and where it is (the
binding). gateway.toml gets only that binding, in the section the type's
transport reads (:mod:`~edgeward.provisioning.placement`), or the section
the installer wrote (``--section FILE``, :mod:`~edgeward.provisioning.sections`):
what to read and how is the type's, which the gateway gets from its signed
registry.

In this order, so that a refusal at any step leaves nothing behind:

1. the type is found, and the binding fits its transport;
2. gateway.toml, edited in place with tomlkit, loads with the gateway's own
   parser; a source or a port, address or topic already bound is refused;
3. the device answers (:mod:`~edgeward.provisioning.answers`), unless
   ``--force`` says to go on without it;
4. the cloud registers the source (``POST /v1/data-sources``), with the
   binding as the parsed file spells it, so admission's comparison of the
   two can't fail on a spelling (``modbus-tcp://host`` without its port);
5. gateway.toml is replaced whole (temp + rename), keeping its mode.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.config.places import Binding, binding_of
from edgeward.gateway.errors import ConfigError
from edgeward.provisioning import gateway_toml, sections
from edgeward.provisioning.answers import check_answer
from edgeward.provisioning.cloud_client import fetch_type, register_source
from edgeward.provisioning.errors import DeviceSilent, UsageError
from edgeward.provisioning.placement import (
    OPTIONAL_KEYS,
    check_keys,
    parse_bus,
    parse_pairs,
    place,
    placement,
    refuse_taken,
)
from edgeward.provisioning.state import Layout, load_enrolled
from edgeward.sync.errors import SpecError
from edgeward.sync.source_types import parse_type_spec, spec_of
from edgeward.sync.source_types.builtin import BUILTIN, BUILTIN_PREFIX
from edgeward.sync.source_types.spec import BleType, ModbusType, SerialType, TypeSpec

TOKEN_ENV = "EDGEWARD_TOKEN"  # noqa: S105 - the variable's name, not a secret

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class AddRequest:
    root: Path
    source: str
    type_id: str
    binding: list[str]
    token_file: Path | None = None
    section: Path | None = None
    poll_interval: float | None = None
    broker: str | None = None
    baudrate: int | None = None
    force: bool = False
    timeout: float = 3.0


def add_device(request: AddRequest, say: Say) -> dict[str, Any]:
    """Steps 1-5 above; returns the source the cloud created."""
    layout = Layout(request.root)
    state = load_enrolled(layout)
    given = parse_pairs(request.binding)
    token = read_token(request.token_file)
    name, spec = resolve_type(request.type_id, state.cloud_url, token)
    transport = transport_of(spec)
    say(f"✓ type {request.type_id}: {name} ({transport}, {_summary(spec)})")
    current = _current(layout.config)
    document = gateway_toml.read(layout.config)
    before = gateway_toml.text(document)
    notes = _edit(request, current, document, transport, given)
    rendered = gateway_toml.text(document)
    change = f"with {request.source} added"
    config = gateway_toml.check(layout.config, rendered, change)
    bound = _bound(config, request, transport, given)
    say(f"✓ {layout.config} {change} as {bound.key} loads with the gateway's parser")
    for note in notes:
        say(f"  note: {note}")
    _answers(config, request, spec, say)
    body = {
        "name": request.source,
        "type_id": request.type_id,
        "gateway_id": state.gateway_id,
        "binding": {**bound.binding, **{k: v for k, v in given.items() if k in OPTIONAL_KEYS}},
    }
    created = register_source(state.cloud_url, token, body)
    say(f"✓ data source {created['name']} ({created['id']}) registered for this gateway")
    if created.get("key"):
        # The cloud shows a generated key once: the device signs or seals with it.
        say(f"  its key, shown once (configure the device with it): {created['key']}")
    gateway_toml.replace(layout.config, rendered)
    say(f"✓ {layout.config}: {bound.key} added")
    for line in _added_lines(before, rendered):
        say(f"    {line}")
    say("restart the gateway to read it (systemctl restart edgeward-gateway on the image)")
    return created


def read_token(token_file: Path | None) -> str:
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--token-file {token_file}: {exc.strerror}") from exc
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"the installer's token: give --token-file or set ${TOKEN_ENV}")
    return token


def resolve_type(type_id: str, cloud_url: str, token: str) -> tuple[str, TypeSpec]:
    """(name, spec) of a built-in type, or of the account's type fetched from the cloud."""
    try:
        if type_id.startswith(BUILTIN_PREFIX):
            if type_id not in BUILTIN:
                known = ", ".join(sorted(BUILTIN))
                raise UsageError(f"--type {type_id}: no such built-in type (there are {known})")
            name, document = BUILTIN[type_id]
            return name, parse_type_spec(document)
        described = fetch_type(cloud_url, token, type_id)
        return str(described.get("name", type_id)), spec_of(described)
    except SpecError as exc:
        raise UsageError(
            f"--type {type_id}: this installer can't read the type "
            f"({exc.path or 'spec'}: {exc.message}); update Edgeward on the gateway"
        ) from exc


def transport_of(spec: TypeSpec) -> str:
    return str(type(spec).__struct_config__.tag)


def _summary(spec: TypeSpec) -> str:
    if isinstance(spec, ModbusType):
        return f"{len(spec.decoder.registers)} registers"
    if isinstance(spec, BleType):
        return f"{len(spec.decoder.characteristics)} characteristics"
    if isinstance(spec, SerialType):
        return f"{spec.decoder.framing.__struct_config__.tag} frames, {spec.decoder.format}"
    return f"{spec.decoder.format} payloads"


def _current(config: Path) -> GatewayConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        where = f"{exc.key}: " if exc.key else ""
        raise UsageError(
            f"{config} does not load as it is: {where}expected {exc.expected}, found {exc.found}",
            hint="fix it first (`edgeward gateway check-config` names the key); nothing was done",
        ) from exc


def _edit(
    request: AddRequest,
    current: GatewayConfig,
    document: Any,
    transport: str,
    given: dict[str, Any],
) -> list[str]:
    """Bind the source in ``document``: from --section, or from the binding."""
    if request.section is None:
        where = placement(
            current,
            transport,
            request.source,
            given,
            poll_interval=request.poll_interval,
            broker=request.broker,
            baudrate=request.baudrate,
        )
        notes = refuse_taken(current, request.source, where)
        place(document, where)
        return notes
    options = {"--poll-interval": request.poll_interval, "--broker": request.broker}
    options["--baudrate"] = request.baudrate
    for option, value in options.items():
        if value is not None:
            raise UsageError(f"{option}: with --section, the section file says it")
    check_keys(transport, given, required=False)
    section = gateway_toml.read(request.section, "--section")
    sections.check_section(section, request.section, request.source)
    existing = binding_of(current, request.source)
    if existing is not None:
        raise UsageError(f"{request.source} is in gateway.toml already: {existing.key}")
    sections.merge(document, section)
    return []


def _bound(
    config: GatewayConfig, request: AddRequest, transport: str, given: dict[str, Any]
) -> Binding:
    """Where the edited file binds the source; it must be the type's transport and,
    with --section, the place --binding names (when given)."""
    bound = binding_of(config, request.source)
    if bound is None:  # check_section made sure the section binds it
        raise UsageError(f"{request.source}: not bound by the section")
    if bound.transport != transport:
        raise UsageError(
            f"{bound.key} binds {request.source} to {bound.transport}, but type "
            f"{request.type_id} reads {transport}",
            hint="nothing was registered or written",
        )
    if not bound.binding:
        raise UsageError(f"{bound.key}: the cloud binds a BLE source by its address; give one")
    for key, value in given.items():
        if key in bound.binding and _spelt(key, value) != _spelt(key, bound.binding[key]):
            raise UsageError(
                f"--binding {key}={value}, but {bound.key} binds {request.source} "
                f"at {key} {bound.binding[key]}"
            )
    return bound


def _spelt(key: str, value: Any) -> str:
    """A binding value as the parsed gateway.toml spells it."""
    if key == "bus":
        kind, keys = parse_bus(str(value))
        return (
            f"modbus-tcp://{keys['host']}:{keys['port']}"
            if kind == "modbus_tcp"
            else (f"modbus-rtu://{keys['port']}")
        )
    return str(value).upper() if key == "address" else str(value)


def _answers(config: GatewayConfig, request: AddRequest, spec: TypeSpec, say: Say) -> None:
    answer = check_answer(config, request.source, spec, request.timeout)
    if answer.answered:
        say(f"✓ {request.source} answers: {answer.tried}: {answer.result}")
        return
    message = f"{request.source} does not answer: tried to {answer.tried}: {answer.result}"
    if not request.force:
        raise DeviceSilent(
            message,
            hint="check the binding, the wiring and the device's power; nothing was "
            "registered or written (--force registers it anyway)",
        )
    say(f"! {message}; registering it anyway (--force)")


def _added_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    return "\n".join(added).strip("\n").splitlines()
