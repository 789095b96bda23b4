"""The place that runs streaming drivers and decodes what they hand up.

The counterpart of :class:`~edgeward.gateway.coordinator.PollCoordinator` for
transports whose devices speak first (serial streams, MQTT). The driver owns
its connection and availability; this coordinator decodes each frame by its
source's decoder and queues it for the outbox. A frame that does not decode
is counted in that source's ``DeviceHealth.malformed`` (logged once per
source, then again after the next good frame), never raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from edgeward.drivers.base import DeviceHealth, Reading, StreamingDriver
from edgeward.drivers.errors import DeviceProtocolError
from edgeward.gateway.coordinator import Decoder
from edgeward.gateway.outbox import NewReading
from edgeward.sync.clock import to_us

log = logging.getLogger(__name__)


class StreamCoordinator:
    def __init__(
        self,
        driver: StreamingDriver,
        decoders: Mapping[str, Decoder],
        sink: asyncio.Queue[NewReading],
    ) -> None:
        missing = set(driver.sources) - set(decoders)
        if missing:
            raise ValueError(f"no decoder for sources {sorted(missing)}")
        self.driver = driver
        self.decoders = dict(decoders)
        self.sink = sink
        self._garbled: set[str] = set()

    @property
    def health(self) -> Mapping[str, DeviceHealth]:
        return self.driver.health()

    async def run(self) -> None:
        await self.driver.run(self._take)

    async def _take(self, reading: Reading) -> None:
        source = reading.source
        try:
            values = dict(self.decoders[source].decode(reading.raw))
        except DeviceProtocolError as exc:
            self.driver.health()[source].malformed += 1
            if source not in self._garbled:
                log.warning("%s sent a frame that does not decode: %s", source, exc)
                self._garbled.add(source)
            return
        self._garbled.discard(source)
        await self.sink.put(NewReading(source=source, time_us=to_us(reading.time), values=values))
