"""Rate limiting of failed authentication, per client address and per token prefix.

A sliding window of failure times per key, in memory: each API worker limits
on its own, which bounds guessing to (workers x limit) per window, far below
what would matter against 178-bit secrets, while keeping a leaked prefix or
a noisy client from hammering the database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

DEFAULT_LIMIT = 20
DEFAULT_WINDOW = 60.0
# Keys tracked at most; beyond this the oldest are forgotten, so a flood of
# distinct addresses costs bounded memory.
MAX_KEYS = 50_000


class FailureLimiter:
    def __init__(self, limit: int = DEFAULT_LIMIT, window: float = DEFAULT_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until any of ``keys`` may try again, or None if none is limited."""
        now = time.monotonic()
        waits = []
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is None:
                    continue
                self._expire(failures, now)
                if len(failures) >= self.limit:
                    waits.append(failures[0] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._failures.pop(key, None) or deque()
                self._expire(failures, now)
                failures.append(now)
                self._failures[key] = failures  # re-inserted: most recent last
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]

    def _expire(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()
