"""The gate every reading passes between a driver and the outbox queue.

Coordinators hand each :class:`~edgeward.drivers.base.Reading` here instead of
decoding it themselves: :class:`~edgeward.gateway.admission.policy.Admission` decides
(registered, bound, proven, not a replay, decodable, in range) and decodes it
by its registry type; only then does it go to the outbox queue. A refusal is
counted by (source, reason), kept with its field and value, logged once per
episode (:mod:`edgeward.gateway.admission.refusal_log`), handed back to the
coordinator (which keeps it in the device's health) and never raised.

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

from edgeward.drivers.base import Reading, Refusal
from edgeward.gateway.admission.policy import Admission
from edgeward.gateway.admission.refusal_log import RefusalLog
from edgeward.gateway.admission.store import AdmissionStore
from edgeward.gateway.outbox.store import NewReading
from edgeward.sync.client import CloudClient
from edgeward.sync.clock import from_us, now_us, to_us
from edgeward.sync.errors import CloudRejected, CloudUnavailable
from edgeward.sync.security_events import SecurityEvent

log = logging.getLogger(__name__)


class AdmissionGate:
    def __init__(
        self,
        admission: Admission,
        store: AdmissionStore,
        sink: asyncio.Queue[NewReading],
        refusal_log: RefusalLog | None = None,
    ) -> None:
        self.admission = admission
        self.store = store
        self.sink = sink
        self.admitted = 0
        self.ignored = 0  # frames their type passes over (unmatched: ignore)
        # Since start, by reason: what `edgeward gateway status` shows beside the store's rows.
        self.refused: Counter[str] = Counter()
        self.refusal_log = refusal_log or RefusalLog()
        self.reporting_failing = False

    async def take(self, reading: Reading) -> Refusal | None:
        """Queue ``reading`` decoded if admitted: None if it was, else why it was refused."""
        decided = self.admission.decide(reading)
        if decided is None:
            self.ignored += 1
            return None
        if isinstance(decided, Refusal):
            self.refused[decided.reason] += 1
            self.refusal_log.refused(reading.source, reading.origin, decided)
            return decided
        self.refusal_log.admitted(reading.source)
        self.admitted += 1
        values = dict(decided.values)
        await self.sink.put(NewReading(decided.source, to_us(reading.time), values))
        return None

    def flush(self) -> None:
        """Fold the in-memory counts, with each row's latest refusal, into the store."""
        counts, latest = self.admission.rejections.drain()
        self.store.record(counts, now_us(), latest)

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
                field=row["field"],
                value=row["value"],
                detail=row["detail"],
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
