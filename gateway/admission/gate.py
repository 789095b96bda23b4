"""The gate every reading passes between a driver and the outbox queue.

Coordinators hand each :class:`~edgeward.drivers.base.Reading` here instead of
decoding it themselves: :class:`~edgeward.gateway.admission.policy.Admission` decides
(registered, bound, proven, not a replay, decodable, in range) and decodes it
by its registry type; only then does it go to the outbox queue. A refusal is
counted by (source, reason), logged once per pair, and never raised.

:meth:`AdmissionGate.report` runs beside the uplink: every ``report_interval``
it folds the counts into per-window rows of the admission store (bounded, see
:mod:`edgeward.gateway.admission.store`) and sends the rows the cloud has not
seen at their current count to ``POST /v1/ingest/security-events``, whence
they reach ``GET /v1/security-events`` and the account's webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from edgeward.drivers.base import Reading
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.gateway.outbox.store import NewReading
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import from_us, now_us, to_us
from edgeward.sync.errors import CloudRejected, CloudUnavailable
from edgeward.sync.security_events import SecurityEvent

log = logging.getLogger(__name__)

# (source, reason) pairs logged at most once each; beyond, a flood stays silent in the log.
MAX_LOGGED = 1000


class AdmissionGate:
    def __init__(
        self,
        admission: Admission,
        store: AdmissionStore,
        sink: asyncio.Queue[NewReading],
    ) -> None:
        self.admission = admission
        self.store = store
        self.sink = sink
        self.admitted = 0
        # Since start, by reason: what `edgeward gateway status` shows beside the store's rows.
        self.refused: Counter[str] = Counter()
        self._logged: set[tuple[str, str]] = set()
        self.reporting_failing = False

    async def take(self, reading: Reading) -> bool:
        """Queue ``reading`` decoded if admitted; True if it was."""
        admitted = self.admission.admit(reading)
        if admitted is None:
            self._refused(reading)
            return False
        self.admitted += 1
        values = dict(admitted.values)
        await self.sink.put(NewReading(admitted.source, to_us(reading.time), values))
        return True

    def _refused(self, reading: Reading) -> None:
        key = self.admission.rejections.last
        if key is None:
            return
        self.refused[key[1]] += 1
        if key not in self._logged and len(self._logged) < MAX_LOGGED:
            self._logged.add(key)
            log.warning(
                # %r: an origin carries what a device chose (an MQTT topic), newlines too.
                "refused a reading of %s from %r: %s (logged once; counted and reported)",
                reading.source[:128],
                reading.origin[:200],
                key[1],
            )

    def flush(self) -> None:
        """Fold the in-memory counts into the store's window rows."""
        self.store.record(self.admission.rejections.drain(), now_us())

    async def report(self, client: CloudClient, gateway_id: str, interval: float) -> None:
        """Until cancelled: flush, then send unreported rows, every ``interval`` seconds."""
        while True:
            self.flush()
            await self.send(client, gateway_id)
            await asyncio.sleep(interval)

    async def send(self, client: CloudClient, gateway_id: str) -> None:
        rows = self.store.unreported()
        if not rows:
            return
        events = [
            SecurityEvent(
                row["source"],
                row["reason"],
                from_us(row["window_start_us"]),
                from_us(row["first_us"]),
                from_us(row["last_us"]),
                row["count"],
            )
            for row in rows
        ]
        try:
            await client.post_security_events(gateway_id, events)
        except (CloudUnavailable, CloudRejected) as exc:
            if not self.reporting_failing:
                log.warning("security events not reported yet (kept, retried): %s", exc)
            self.reporting_failing = True
            return
        self.reporting_failing = False
        self.store.mark_reported({row["id"]: row["count"] for row in rows})
