"""Jittered exponential backoff for reconnecting to a device.

The gateway has its own; drivers import nothing of the gateway, so this is
the few lines they need. Full jitter keeps devices that dropped together
(a power cut, an adapter reset) from all reconnecting in the same instant.
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
