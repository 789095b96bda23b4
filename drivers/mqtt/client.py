"""The MQTT driver: subscribe per data source, hand each message upward as a frame.

paho runs its network loop on its own thread (``loop_start``) and owns the
reconnection, with backoff between ``reconnect_min`` and ``backoff_max``;
subscriptions are (re)made in ``on_connect``, so a broker that restarted
(and forgot every session) gets them again. Callbacks hop onto the asyncio
loop with ``call_soon_threadsafe``; nothing else is shared between threads.

The payload is passed up raw: decoding JSON is the gateway's job, so a
malformed payload is counted there, per source, like any other frame.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.drivers.base import DeviceHealth, Emit, Reading, StreamingDriver
from edgeward.drivers.errors import DriverConfigError

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Tls:
    """Server verification against ``ca_file``; a client certificate if given."""

    ca_file: str
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True, slots=True)
class Broker:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # a secret: never in a repr
    tls: Tls | None = None
    client_id: str = ""
    keepalive: int = 30
    connect_timeout: float = 5.0
    reconnect_min: int = 1
    backoff_max: int = 30

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """Messages on ``topic`` (MQTT wildcards allowed) belong to data source ``source``."""

    source: str
    topic: str
    qos: int = 0


class MqttDriver(StreamingDriver):
    def __init__(self, broker: Broker, subscriptions: list[Subscription]) -> None:
        if not subscriptions:
            raise DriverConfigError(f"no subscriptions configured for {broker.url}")
        sources = [s.source for s in subscriptions]
        if len(set(sources)) != len(sources):
            raise DriverConfigError(f"a source is subscribed twice on {broker.url}")
        for subscription in subscriptions:
            if not subscription.topic or subscription.qos not in (0, 1, 2):
                raise DriverConfigError(f"subscription {subscription} is not valid MQTT")
        self.broker = broker
        self.subscriptions = tuple(subscriptions)
        self._health = {source: DeviceHealth() for source in sources}
        self._connected = False
        self._stopping = False

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self._health)

    def health(self) -> Mapping[str, DeviceHealth]:
        return self._health

    async def run(self, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Reading] = asyncio.Queue(QUEUE_SIZE)
        self._stopping = False
        client = self._client(loop, inbox)
        client.connect_async(self.broker.host, self.broker.port, self.broker.keepalive)
        client.loop_start()
        try:
            while True:
                await emit(await inbox.get())
        finally:
            self._stopping = True  # our own disconnect is no outage to report
            client.disconnect()
            # loop_stop joins paho's thread; off the event loop, it can't stall it.
            await asyncio.to_thread(client.loop_stop)

    def _client(
        self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Reading]
    ) -> paho.Client:
        broker = self.broker
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=broker.client_id)
        client.connect_timeout = broker.connect_timeout
        client.reconnect_delay_set(broker.reconnect_min, broker.backoff_max)
        authenticate(client, broker)

        def on_connect(
            client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
        ) -> None:
            if reason.is_failure:
                loop.call_soon_threadsafe(self._link_down, f"refused: {reason}")
                return
            client.subscribe([(s.topic, s.qos) for s in self.subscriptions])
            loop.call_soon_threadsafe(self._link_up)

        def on_disconnect(
            _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
        ) -> None:
            loop.call_soon_threadsafe(self._link_lost, f"disconnected: {reason}")

        def on_connect_fail(_client: paho.Client, _userdata: Any) -> None:
            loop.call_soon_threadsafe(self._link_down, "cannot connect")

        def on_message(_client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
            now = datetime.now(UTC)
            for subscription in self.subscriptions:
                if paho.topic_matches_sub(subscription.topic, message.topic):
                    reading = Reading(
                        source=subscription.source,
                        raw=bytes(message.payload),
                        time=now,
                        origin=f"{broker.url}/{message.topic}",
                    )
                    loop.call_soon_threadsafe(self._deliver, inbox, reading)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_connect_fail = on_connect_fail
        client.on_message = on_message
        return client

    def _deliver(self, inbox: asyncio.Queue[Reading], reading: Reading) -> None:
        health = self._health[reading.source]
        health.reads += 1
        health.last_success = reading.time
        try:
            inbox.put_nowait(reading)
        except asyncio.QueueFull:
            health.failures += 1
            health.last_error = "message dropped: the gateway is not keeping up"

    def _link_up(self) -> None:
        if not self._connected:
            log.info("connected to %s", self.broker.url)
        self._connected = True
        for health in self._health.values():
            health.available = True
            health.consecutive_failures = 0

    def _link_lost(self, reason: str) -> None:
        # After a refused CONNACK paho disconnects too; the refusal is the news.
        if self._connected:
            self._link_down(reason)

    def _link_down(self, reason: str) -> None:
        if self._stopping:
            return
        if self._connected or all(h.failures == 0 for h in self._health.values()):
            log.warning("lost %s: %s", self.broker.url, reason)
        self._connected = False
        for health in self._health.values():
            health.available = False
            health.failures += 1
            health.consecutive_failures += 1
            health.last_error = reason


def authenticate(client: paho.Client, broker: Broker) -> None:
    """Username/password, and TLS verifying the broker (hostname included).

    Public: the installer's answer check (``edgeward devices add``) connects the same way.
    """
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls is not None:
        client.tls_set(
            ca_certs=broker.tls.ca_file,
            certfile=broker.tls.cert_file,
            keyfile=broker.tls.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
