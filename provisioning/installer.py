"""``edgeward provision``: from a claim code to an enrolled gateway with its tunnel up.

Steps, each printed with ✓ or ✗: keys, enrollment, config, tunnel, check.
Re-running resumes: the state file (:mod:`edgeward.provisioning.state`)
keeps the keys and the claim code before the cloud is asked, then the
enrollment answer, so a run interrupted at any point completes on a re-run
(:mod:`edgeward.provisioning.enrolling`), and every later step is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgeward.gateway.config.toml_writer import dump_toml
from edgeward.provisioning import cloud_client, gateway_toml, tunnel
from edgeward.provisioning.enrolling import enroll
from edgeward.provisioning.errors import WriteError
from edgeward.provisioning.keys import GatewayKeys
from edgeward.provisioning.owner import Owner, resolve
from edgeward.provisioning.state import (
    Layout,
    ProvisionState,
    load_enrolled,
    load_state,
    save_state,
    write,
)
from edgeward.provisioning.steps import Steps
from edgeward.provisioning.wg_quick import write_wg_quick

CHECK_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Options:
    root: Path
    cloud_url: str | None
    claim: str | None
    name: str | None
    tunnel: bool
    interface: str
    userspace: bool
    owner: str | None = None


def provision(options: Options, steps: Steps) -> ProvisionState:
    layout = Layout(options.root)
    state = load_state(layout)
    with steps.step("keys and enrollment") as result:
        owner = resolve(options.owner)  # a wrong --owner stops before the code is spent
        state = enroll(layout, state, options.cloud_url, options.claim, options.name, result)
    offer = state.wireguard if options.tunnel else None
    with steps.step("write the gateway's config") as result:
        if offer is not None:
            write_wg_quick(layout.wg_quick(options.interface), state.keys, offer)
        write_config(layout, state, options.tunnel, owner)
        held = f", owned by {owner.name}" if owner else ""
        result.append(f"config written: {layout.config} (secrets mode 0600{held})")
    with steps.step("WireGuard tunnel") as result:
        if offer is None:
            why = "--no-tunnel" if not options.tunnel else "the cloud offers no tunnel"
            result.append(f"tunnel skipped ({why}); the gateway talks to {cloud_url(state, False)}")
        else:
            backend = tunnel.bring_up(
                options.interface, layout.wireguard_key, offer, options.userspace
            )
            result.append(
                f"tunnel {options.interface} up ({backend}) as {offer['address']} "
                f"to hub {offer['hub_endpoint']}"
            )
    with steps.step("the cloud answers") as result:
        url = cloud_url(state, options.tunnel)
        tunnel.check_cloud(url, CHECK_TIMEOUT_S, steps.progress)
        through = "through the tunnel" if offer else "directly"
        result.append(f"cloud answers {through} at {url}")
    return state


def cloud_url(state: ProvisionState, through_tunnel: bool) -> str:
    offer = state.wireguard
    if through_tunnel and offer is not None:
        return str(offer["cloud_url"])
    return state.cloud_url


def write_keys(layout: Layout, keys: GatewayKeys, owner: Owner | None) -> None:
    write(layout.identity_key, keys.identity_private.encode() + b"\n")
    write(layout.wireguard_key, keys.wireguard_private.encode() + b"\n")
    if owner is not None:
        owner.give(layout.identity_key)
        owner.give(layout.wireguard_key)


def write_config(
    layout: Layout, state: ProvisionState, through_tunnel: bool, owner: Owner | None = None
) -> None:
    """Secrets first, gateway.toml last and whole; device sections already there are kept.

    With an ``owner`` (the image's ``edgeward`` user), the secrets the gateway
    reads and its data directory are handed to it before gateway.toml appears.
    """
    write_keys(layout, state.keys, owner)
    write(layout.credential, str(state.answer["credential"]).encode() + b"\n")
    if owner is not None:
        owner.give(layout.credential)
        _data_dir(layout.data_dir, owner)
    tables = {
        "gateway": {"id": state.gateway_id, "data_dir": str(layout.data_dir)},
        "cloud": {
            "url": cloud_url(state, through_tunnel),
            "credential_file": layout.credential.name,
            # The cloud's signing key for the registry and remote settings, from the
            # enrollment answer (else the gateway pins what the cloud names at first contact).
            **_cloud_key(state),
        },
    }
    if not layout.config.exists():
        write(layout.config, dump_toml(tables).encode(), mode=0o644)
        return
    # A re-run keeps the file as the installer and `devices add` left it (tomlkit:
    # comments, order and number spelling stay), changing only these two tables.
    document = gateway_toml.read(layout.config, "cannot keep the device sections of")
    for key, values in tables.items():
        gateway_toml.set_table(document, key, values)
    gateway_toml.replace(layout.config, gateway_toml.text(document))


def _data_dir(path: Path, owner: Owner) -> None:
    try:
        path.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create {path}: {exc.strerror or exc}") from exc
    owner.give(path)


def _cloud_key(state: ProvisionState) -> dict[str, str]:
    key = state.answer.get("cloud", {}).get("registry_public_key")
    return {"public_key": str(key)} if key else {}


def rotate_keys(options: Options, steps: Steps) -> ProvisionState:
    """New identity and WireGuard keys: kept pending until the cloud took them, then swapped.

    The request goes over the underlay (the enrollment URL): the hub swaps
    this gateway's peer to the new key while answering, so an answer sent
    through the tunnel would reach the old key. The gateway keeps running;
    readings queue in its outbox for the moment the tunnel re-handshakes.
    """
    layout = Layout(options.root)
    state = load_enrolled(layout)
    with steps.step("new keys") as result:
        if state.pending_keys is None:
            state.pending_keys = GatewayKeys.generate()
            save_state(layout, state)
            result.append("new identity and WireGuard keys generated (pending)")
        else:
            result.append("pending keys from the earlier run kept")
    new = state.pending_keys
    with steps.step("the cloud takes the new keys") as result:
        credential = str(state.answer["credential"])
        cloud_client.rotate(state.cloud_url, credential, state.gateway_id, state.keys, new)
        result.append(f"cloud holds the new keys of {state.gateway_id}")
    with steps.step("swap the keys on the gateway") as result:
        state.keys, state.pending_keys = new, None
        write_keys(layout, new, resolve(options.owner))
        offer, conf = state.wireguard, layout.wg_quick(options.interface)
        if offer is not None and conf.exists():
            write_wg_quick(conf, new, offer)
        save_state(layout, state)
        swapped = tunnel.set_private_key(options.interface, layout.wireguard_key)
        result.append(
            f"keys swapped{'; tunnel ' + options.interface + ' re-keyed' if swapped else ''}"
        )
    with steps.step("the cloud answers") as result:
        url = cloud_url(state, options.tunnel)
        tunnel.check_cloud(url, CHECK_TIMEOUT_S, steps.progress)
        result.append(f"cloud answers at {url}")
    return state
