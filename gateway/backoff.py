"""Jittered exponential backoff, shared by everything that retries."""

from __future__ import annotations

import random


class Backoff:
    """``next()`` gives the wait before the next attempt; ``reset()`` after a success.

    "Full jitter" keeps a fleet of gateways that lost the cloud together from
    coming back together and knocking it over again.
    """

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
