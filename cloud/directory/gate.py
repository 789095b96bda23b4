"""At most N directory sign-ins at once per account, in this API worker.

Each sign-in opens its own connections (see :mod:`.bind` for why none are
shared); this gate is what keeps a burst of sign-ins, or a slow directory,
from opening an unbounded number of them against an enterprise's server. A
sign-in that cannot get a slot within the directory's timeout answers 503
``directory_busy`` instead of queueing without end and holding an API thread.

The limit is per worker: N workers make at most N x max_connections sign-ins
at once (each using one connection, two in search-then-bind mode).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from edgeward.cloud.errors import ServiceUnavailable


class DirectoryBusy(ServiceUnavailable):
    code = "directory_busy"

    def __init__(self) -> None:
        super().__init__("too many sign-ins to this account's directory; retry", retry_after=1)


class DirectoryGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # account id -> (limit it was made with, its semaphore)
        self._slots: dict[str, tuple[int, threading.BoundedSemaphore]] = {}
        self.in_use: dict[str, int] = {}
        self.peak: dict[str, int] = {}  # the most held at once, per account (for tests)

    def _semaphore(self, account_id: str, limit: int) -> threading.BoundedSemaphore:
        with self._lock:
            known = self._slots.get(account_id)
            if known is None or known[0] != limit:
                # A changed limit takes effect for new sign-ins; those in flight
                # release into the semaphore they took.
                known = (limit, threading.BoundedSemaphore(limit))
                self._slots[account_id] = known
            return known[1]

    @contextmanager
    def slot(self, account_id: str, limit: int, timeout: float) -> Iterator[None]:
        semaphore = self._semaphore(account_id, limit)
        if not semaphore.acquire(timeout=timeout):
            raise DirectoryBusy()
        with self._lock:
            held = self.in_use.get(account_id, 0) + 1
            self.in_use[account_id] = held
            self.peak[account_id] = max(held, self.peak.get(account_id, 0))
        try:
            yield
        finally:
            with self._lock:
                self.in_use[account_id] -= 1
            semaphore.release()
