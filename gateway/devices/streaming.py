"""The place that runs streaming drivers and hands what they send to admission.

The counterpart of :class:`~edgeward.gateway.devices.polling.PollCoordinator` for
transports whose devices speak first (serial streams, MQTT, BLE). The driver
owns its connection and availability; this coordinator passes each frame,
undecoded, to the gate (admission), which decodes it by its registry type or
counts why it was refused; the refusal goes into the device's health beside
what the driver counts there, so status shows a device whose readings are
all refused as refused, not up. Nothing a device sends is raised.
"""

from __future__ import annotations

from collections.abc import Mapping

from edgeward.drivers.base import DeviceHealth, Reading, StreamingDriver
from edgeward.gateway.devices.polling import Gate, note_refusal


class StreamCoordinator:
    def __init__(self, driver: StreamingDriver, gate: Gate) -> None:
        self.driver = driver
        self.gate = gate

    @property
    def health(self) -> Mapping[str, DeviceHealth]:
        return self.driver.health()

    async def run(self) -> None:
        await self.driver.run(self._take)

    async def _take(self, reading: Reading) -> None:
        refusal = await self.gate.take(reading)
        health = self.driver.health().get(reading.source)
        if health is not None:
            note_refusal(health, refusal)
