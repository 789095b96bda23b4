"""An MQTT sensor: publishes JSON readings to a broker, for the demo and tests.

Each message is ``{"counter": n, "temperature": t, "humidity": h}`` with the
same counter-derived values as the serial sensor
(:func:`~edgeward.drivers.simulators.serial_sensor.values_for`), published to
every topic given. With ``garbage_every`` every Nth message is not JSON.
paho reconnects by itself when the broker goes away and comes back.
"""

from __future__ import annotations

import json
import signal
import ssl
import threading
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edgeward.drivers.simulators.serial_sensor import values_for


def payload_for(counter: int, garbage_every: int = 0) -> bytes:
    if garbage_every and counter % garbage_every == 0:
        return b"{not json"
    temperature, humidity = values_for(counter)
    return json.dumps(
        {"counter": counter, "temperature": temperature, "humidity": humidity}
    ).encode()


def run_mqtt_sensor(
    host: str,
    port: int,
    topics: list[str],
    *,
    interval: float,
    username: str | None,
    password_file: str | None,
    ca_file: str | None,
    garbage_every: int,
) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="edgeward-mqtt-sensor")
    client.reconnect_delay_set(1, 2)
    if username is not None:
        password = Path(password_file).read_text().strip() if password_file else None
        client.username_pw_set(username, password)
    if ca_file is not None:
        client.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.connect_async(host, port, keepalive=10)
    client.loop_start()
    counter = 0
    try:
        while not stop.wait(interval):
            if not client.is_connected():
                continue
            counter += 1
            for topic in topics:
                client.publish(topic, payload_for(counter, garbage_every))
    finally:
        client.disconnect()
        client.loop_stop()
    return 0
