"""Jittered exponential backoff, for everything that retries.

It lives at the bottom of the stack, with the drivers, so that drivers and
the gateway (uplink, supervisor) share one: drivers import nothing of the
gateway. Full jitter keeps devices that dropped together (a power cut, an
adapter reset), or gateways that lost the cloud together, from all coming
back in the same instant.
"""

from __future__ import annotations

import random


class Backoff:
    """``next()`` is the wait before the next attempt; ``reset()`` after a success."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self._ceiling = initial

    def next(self) -> float:
        delay = random.uniform(self.initial / 2, self._ceiling)  # noqa: S311 - jitter, not crypto
        self._ceiling = min(self._ceiling * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._ceiling = self.initial
