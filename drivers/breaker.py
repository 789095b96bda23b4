"""A per-device circuit breaker, so a dead device costs its bus almost nothing.

::

    closed ──threshold failures in a row──▶ open ──retry_at reached──▶ half-open
       ▲                                     ▲                            │
       └────────────── success ──────────────┼──────── failure ───────────┘
                                             (wait doubles, up to backoff_max)

While open, :meth:`CircuitBreaker.allow` says no without touching the wire;
the driver reports the device unavailable at once. Its wait doubles with
jitter like :class:`edgeward.drivers.backoff.Backoff`, but is kept here as
state the breaker reports (``retry_at``), not just a delay.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from edgeward.drivers.errors import DeviceUnavailable


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """``threshold`` failures in a row open the breaker for ``backoff`` seconds,
    doubling on each failed probe up to ``backoff_max``."""

    threshold: int = 3
    backoff: float = 1.0
    backoff_max: float = 60.0


class CircuitBreaker:
    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self.consecutive_failures = 0
        self.retry_at: float | None = None
        self._wait = self.policy.backoff
        self._answered = False

    @property
    def suspect(self) -> bool:
        """Not known to answer (never has, or its last request failed): its next
        requests must not hold up devices that do."""
        return not self._answered or self.consecutive_failures > 0

    @property
    def is_open(self) -> bool:
        return self.retry_at is not None

    def allow(self) -> bool:
        """May a request go out now? Past ``retry_at`` one probe may."""
        return self.retry_at is None or self._clock() >= self.retry_at

    def check(self, device: str) -> None:
        """Raise DeviceUnavailable, naming ``device``, unless a request may go out now."""
        if not self.allow():
            raise DeviceUnavailable(
                f"circuit open after {self.consecutive_failures} failures in a row; "
                f"next try in {self.seconds_to_retry():.1f}s",
                device=device,
            )

    def seconds_to_retry(self) -> float:
        return 0.0 if self.retry_at is None else max(0.0, self.retry_at - self._clock())

    def succeeded(self) -> None:
        self._answered = True
        self.consecutive_failures = 0
        self.retry_at = None
        self._wait = self.policy.backoff

    def failed(self) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures < self.policy.threshold:
            return
        # Jitter keeps many dead devices on one bus from probing in lockstep.
        wait = random.uniform(self._wait / 2, self._wait)  # noqa: S311 - jitter, not crypto
        self.retry_at = self._clock() + wait
        self._wait = min(self._wait * 2, self.policy.backoff_max)
