"""Serving the cloud app with uvicorn on a socket we bind ourselves.

Binding first lets ``--port 0`` pick a free port and report it through
``--port-file`` before the first request, which tests and the demo rely on
instead of guessing a port that might be taken.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import uvicorn

from edgeward.cloud.api.app import create_app
from edgeward.cloud.config.settings import CloudSettings

log = logging.getLogger(__name__)


def serve(
    settings: CloudSettings,
    host: str,
    port: int,
    port_file: Path | None = None,
    unix_socket: Path | None = None,
) -> None:
    app = create_app(settings)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Name TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # when the listener says it is TCP, and without it every response waits
    # ~40 ms for the client's delayed ACK (Nagle).
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    if port_file is not None:
        temporary = port_file.with_suffix(".tmp")
        temporary.write_text(f"{bound_port}\n")
        os.replace(temporary, port_file)
    log.info("Edgeward cloud listening on http://%s:%d", host, bound_port)
    sockets = [listener]
    if unix_socket is not None:
        # A second door for a reverse proxy on this host (and for tests that run
        # the cloud in a network namespace of its own); the file's mode guards it.
        unix_socket.unlink(missing_ok=True)
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        local.bind(str(unix_socket))
        os.chmod(unix_socket, 0o600)
        sockets.append(local)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=sockets)
