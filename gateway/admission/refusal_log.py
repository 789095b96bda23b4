"""The log of refusals: one line when a source starts being refused, one when it is back.

A device polled every 10 ms whose readings are all refused must not write a
hundred lines a second to the journal, and an installer must still read in
the journal why. So the log follows each source's *episodes*, as Home
Assistant's update coordinator does for availability: a warning when a
source starts being refused for a reason (or the reason or field at fault
changes), with the field and value at fault, and one line when a reading of
it is admitted again. Every refusal is still counted and reported
(:class:`~edgeward.gateway.admission.gate.AdmissionGate`); status shows the
current streak.

A source that flaps (a noisy line: one frame in four refused) would still
log twice per flap. So the same refusal of the same source is logged again
only ``repeat_after`` seconds after it was last logged, and an episode whose
start was not logged does not log its end either. Memory is bounded: past
``MAX_TRACKED`` sources (rogue identities) the rest stay silent in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from edgeward.drivers.base import Refusal

log = logging.getLogger(__name__)

MAX_TRACKED = 1000
# The same refusal of one source is logged at most once in this many seconds.
REPEAT_AFTER = 600.0

# (source, reason, field): what makes one refusal "the same" as another.
_Key = tuple[str, str, str | None]


@dataclass(slots=True)
class _Episode:
    key: _Key
    refused: int
    logged: bool


class RefusalLog:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, repeat_after: float = REPEAT_AFTER
    ) -> None:
        self.clock = clock
        self.repeat_after = repeat_after
        self._episodes: dict[str, _Episode] = {}
        self._logged_at: dict[_Key, float] = {}

    def refused(self, source: str, origin: str, refusal: Refusal) -> None:
        key = (source, refusal.reason, refusal.field)
        episode = self._episodes.get(source)
        if episode is not None and episode.key == key:
            episode.refused += 1
            return
        logged = self._log_refusal(key, origin, refusal)
        if episode is not None:
            episode.key, episode.logged = key, episode.logged or logged
            episode.refused += 1
        elif len(self._episodes) < MAX_TRACKED:
            self._episodes[source] = _Episode(key, 1, logged)

    def admitted(self, source: str) -> None:
        episode = self._episodes.pop(source, None)
        if episode is not None and episode.logged:
            log.info(
                "%s is admitted again after %d refused reading(s)", source[:128], episode.refused
            )

    def _log_refusal(self, key: _Key, origin: str, refusal: Refusal) -> bool:
        now = self.clock()
        last = self._logged_at.get(key)
        if last is not None and now - last < self.repeat_after:
            return False
        if last is None and len(self._logged_at) >= MAX_TRACKED:
            return False
        self._logged_at[key] = now
        text = refusal.summary()
        if refusal.field is not None and refusal.value is not None:
            text += f" ({refusal.detail})"
        log.warning(
            # %r: an origin carries what a device chose (an MQTT topic), newlines too.
            "refused a reading of %s from %r: %s; counted and reported, logged again "
            "when the refusal changes",
            key[0][:128],
            origin[:200],
            text,
        )
        return True
