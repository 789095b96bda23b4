"""``edgeward gateway run``: the runtime, restarted in-process when the cloud's settings change.

A new settings version is applied whole or not at all: the running runtime
stops cleanly (pollers, then the writer commits what they queued, then a
final send) and a new one starts with the new configuration. Nothing is
lost between them: every reading taken is already in the outbox on disk,
and the new runtime's uplink carries on from there. The process, its
pid and its systemd unit stay; only the pipeline is rebuilt.

This loop lives outside :mod:`edgeward.gateway.runtime.pipeline` on purpose: the
runtime knows one configuration for its whole life, which keeps it simple.

Each runtime talks to the cloud through one
:class:`~edgeward.sync.client.CloudClient`, built here from that runtime's
configuration (the cloud's settings may change its timeout and compression)
and shared by the uplink, the admission gate, the registry pull and the
settings puller. This loop owns it: it is closed once, after the runtime has
made its final send and the puller has stopped.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.runtime.pipeline import GatewayRuntime
from edgeward.gateway.runtime.remote_settings import RemoteSettings
from edgeward.sync.client import CloudClient

log = logging.getLogger(__name__)


async def serve(path: Path, stop: asyncio.Event, base: GatewayConfig | None = None) -> None:
    """Run the gateway from ``path`` (already parsed: ``base``) until ``stop``;
    apply new cloud settings as they come."""
    base = base or load_config(path)
    remote = RemoteSettings(path, base)
    config = remote.load_last_good()
    while not stop.is_set():
        remote.starting(config)
        async with cloud_client(config) as client:
            await _run_until_changed(GatewayRuntime(config, client), remote, client, stop)
        if not stop.is_set():
            log.info(
                "gateway %s: settings version %d replaces version %d",
                config.gateway_id,
                remote.config.settings_version,
                config.settings_version,
            )
        config = remote.config


def cloud_client(config: GatewayConfig) -> CloudClient:
    """The client one runtime with ``config`` talks to the cloud through."""
    return CloudClient(
        config.cloud.url,
        config.cloud.credential,
        timeout=config.uplink.timeout,
        compress=config.uplink.compress,
    )


async def _run_until_changed(
    runtime: GatewayRuntime,
    remote: RemoteSettings,
    client: CloudClient,
    stop: asyncio.Event,
) -> None:
    """Run ``runtime`` until ``stop``, or until the puller accepted a new version."""
    changed = asyncio.Event()
    runtime_stop = asyncio.Event()
    tasks = [
        asyncio.create_task(remote.run(client, runtime.outbox, changed)),
        asyncio.create_task(_either(stop, changed, runtime_stop)),
    ]
    try:
        await runtime.run(runtime_stop)
    finally:
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):  # the puller failed: settings stay
                log.error("settings puller stopped: %r", result)


async def _either(first: asyncio.Event, second: asyncio.Event, then: asyncio.Event) -> None:
    """Set ``then`` once ``first`` or ``second`` is set."""
    waits = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    then.set()


__all__ = ["cloud_client", "serve"]
