"""gateway.toml's bindings held against the registry the gateway last verified.

``edgeward gateway check-config`` runs this after the file itself parsed:
every source gateway.toml reads must be registered for this gateway, with
a type of the transport of its section, bound at the cloud where the file
says it is (the bus and unit, port, address or topic admission will check
each reading against). A mismatch found here would otherwise show only as
every reading refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edgeward.gateway.admission.registry_pull import REGISTRY_FILE, pinned_key
from edgeward.gateway.config.loader import GatewayConfig
from edgeward.gateway.config.places import bindings
from edgeward.sync.errors import SpecError, SyncError
from edgeward.sync.signed_documents import RegistryStore
from edgeward.sync.source_types import spec_of


@dataclass(frozen=True, slots=True)
class BindingReport:
    problems: list[str]
    notes: list[str]


def cached_registry(config: GatewayConfig) -> dict[str, Any] | None:
    """The registry saved in the data dir, if it still verifies; None if there is none."""
    key = config.cloud.public_key or pinned_key(config.data_dir)
    if key is None:
        return None
    try:
        loaded = RegistryStore(config.data_dir / REGISTRY_FILE, key).load()
    except (OSError, SyncError):
        return None
    return None if loaded is None else loaded.document


def check_bindings(config: GatewayConfig, registry: Mapping[str, Any]) -> BindingReport:
    entries = {entry["name"]: entry for entry in registry.get("sources", [])}
    problems: list[str] = []
    notes: list[str] = []
    bound: set[str] = set()
    for binding in bindings(config):
        bound.add(binding.source)
        entry = entries.get(binding.source)
        where = f"{binding.key}: {binding.source}"
        if entry is None:
            problems.append(
                f"{where}: not registered for gateway {config.gateway_id} at the cloud "
                "(edgeward devices add registers it)"
            )
            continue
        try:
            transport = type(spec_of(entry["type"])).__struct_config__.tag
        except (SpecError, KeyError, TypeError) as exc:
            problems.append(f"{where}: its data-source type can't be read here: {exc}")
            continue
        if transport != binding.transport:
            problems.append(
                f"{where}: its data-source type reads {transport}, "
                f"the section is {binding.transport}"
            )
            continue
        registered = entry.get("binding") or {}
        for name, value in binding.binding.items():
            if str(registered.get(name)) != str(value):
                problems.append(
                    f"{where}: {name} is {value!r} here, {registered.get(name)!r} at the cloud "
                    "(every reading would be refused as wrong-binding)"
                )
        if not entry.get("enabled", True):
            notes.append(f"{where}: disabled at the cloud; its readings are refused")
    for name in sorted(set(entries) - bound):
        notes.append(f"{name}: registered for this gateway but not in gateway.toml (not read)")
    return BindingReport(problems, notes)
