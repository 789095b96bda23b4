"""Why provisioning stopped, each with the exit code the installer's CLI returns.

See the tree in :mod:`edgeward.provisioning`.
"""

from __future__ import annotations

EXIT_OK = 0


class ProvisioningError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class DeviceSilent(ProvisioningError):
    """The device did not answer the check ``devices add`` makes before registering it."""

    exit_code = 1


class UsageError(ProvisioningError):
    exit_code = 2


class ClaimCodeRefused(ProvisioningError):
    """``reason`` is one of typo, unknown, expired, revoked, used (the cloud's error code)."""

    exit_code = 3

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class CloudUnreachable(ProvisioningError):
    """``may_have_arrived``: False when no connection was made (nothing reached the cloud)."""

    exit_code = 4

    def __init__(
        self, message: str, *, hint: str | None = None, may_have_arrived: bool = True
    ) -> None:
        super().__init__(message, hint=hint)
        self.may_have_arrived = may_have_arrived


class CloudRefused(ProvisioningError):
    exit_code = 4


class TunnelError(ProvisioningError):
    exit_code = 5


class WriteError(ProvisioningError):
    exit_code = 6
