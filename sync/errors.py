"""Exceptions of the sync package.

::

    SyncError
    ├── BatchFormatError      a batch or ack does not follow the wire contract
    └── UplinkError           sending a batch failed
        ├── UplinkUnavailable retryable: network down, cloud 5xx/429, timeout
        └── UplinkRejected    the cloud refused the batch (4xx); retrying the
                              same bytes will not help until something changes
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


class UplinkError(SyncError):
    """Sending a batch to the cloud failed."""


class UplinkUnavailable(UplinkError):
    """The cloud could not be reached or asked us to come back later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UplinkRejected(UplinkError):
    """The cloud answered with a 4xx: the request itself was refused."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"cloud refused the batch ({status_code} {code}): {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
