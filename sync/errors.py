"""Exceptions of the sync package.

::

    SyncError
    ├── BatchFormatError      a batch or ack does not follow the wire contract
    ├── SpecError             a data-source type or a registry breaks the contract
    └── CloudCallError        a call of the gateway's cloud client failed
        ├── CloudUnavailable  retryable: network down, cloud 5xx/429, timeout,
        │                     an answer the client can't read
        └── CloudRejected     the cloud refused the call (4xx, or a redirect the
                              client does not follow); the same request will not
                              succeed until something changes

:class:`CloudCallError` is raised only by :mod:`edgeward.sync.client`, which
translates every httpx failure into it (``raise ... from``), so the gateway
catches these and never an httpx type. A signed document that fails to
verify raises its verifier's :class:`SyncError` instead.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error raised by :mod:`edgeward.sync`."""


class BatchFormatError(SyncError):
    """A document does not follow the wire contract.

    ``path`` points at the offending field (``readings[3].seq``) so that the
    cloud can return it to the gateway and an engineer can find it.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class SpecError(SyncError):
    """A data-source type spec or registry breaks the contract; ``path`` names the key
    (``decoder.registers[2].address``) and ``message`` says what was expected."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class CloudCallError(SyncError):
    """A call to the cloud (a batch, events, a signed document, a report) failed."""


class CloudUnavailable(CloudCallError):
    """The cloud could not be reached or asked us to come back later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CloudRejected(CloudCallError):
    """The cloud refused the call; ``call`` names it (``batch``, ``registry``, ...)."""

    def __init__(self, status_code: int, code: str, message: str, *, call: str) -> None:
        super().__init__(f"cloud refused the {call} ({status_code} {code}): {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.call = call
