"""Installer flows on the gateway: claim, identity keys, WireGuard tunnel, devices.

``edgeward provision`` (:mod:`edgeward.provisioning.installer`) turns a fresh
gateway into an enrolled, tunnelled one from a claim code; ``edgeward
provision rotate-keys`` replaces its keys; ``edgeward devices`` finds, adds
and converts devices (:mod:`edgeward.provisioning.devices`). The exception tree::

    ProvisioningError          exit_code 1
    ├── DeviceSilent           1  ``devices add``: the device did not answer (``--force``)
    ├── UsageError             2  arguments or local state don't allow the step
    ├── ClaimCodeRefused       3  typo, unknown, expired, revoked or used (``reason``)
    ├── CloudUnreachable       4  no answer from the cloud (what was tried, what to check)
    ├── CloudRefused           4  the cloud answered with an error
    ├── TunnelError            5  the tunnel could not come up, or the cloud is not
    │                             reachable through it
    └── WriteError             6  the gateway's files could not be written
"""
