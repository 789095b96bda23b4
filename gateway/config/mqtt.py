"""The ``[[mqtt]]`` sections of gateway.toml: one broker, a subscription per data source.

A subscription binds a source to a topic; its payload decoder is the
source's data-source type. The password lives in its own file (mode 0600,
like the cloud credential), never in gateway.toml, which installers copy
around.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeward.drivers.mqtt.client import Broker, Subscription, Tls
from edgeward.gateway.config.section import Section

# Keys of earlier versions, now in the data-source type (the payload decoder).
MOVED_TO_TYPE = ("fields",)


@dataclass(frozen=True, slots=True)
class MqttConfig:
    broker: Broker
    subscriptions: tuple[Subscription, ...]


def parse_mqtt(section: Section) -> MqttConfig:
    section.allow(
        *("host", "port", "username", "password_file", "client_id", "keepalive", "tls"),
        "subscriptions",
    )
    tls = _tls(section.section("tls")) if "tls" in section.data else None
    username = section.optional_string("username")
    if username is None and "password_file" in section.data:
        raise section.error("password_file", "a username to go with it", "no username")
    subscriptions = tuple(_subscription(entry) for entry in section.sections("subscriptions"))
    if not subscriptions:
        raise section.error("subscriptions", "at least one [[mqtt.subscriptions]]", "none")
    broker = Broker(
        host=section.string("host"),
        port=section.integer("port", 1, 65535, 8883 if tls else 1883),
        username=username,
        password=_password(section) if "password_file" in section.data else None,
        tls=tls,
        client_id=section.optional_string("client_id") or "",
        keepalive=section.integer("keepalive", 5, 3600, 30),
    )
    return MqttConfig(broker=broker, subscriptions=subscriptions)


def _tls(tls: Section) -> Tls:
    tls.allow("ca_file", "cert_file", "key_file")
    if ("cert_file" in tls.data) != ("key_file" in tls.data):
        raise tls.error("key_file", "cert_file and key_file together", "only one of them")
    return Tls(
        ca_file=str(_existing(tls, "ca_file")),
        cert_file=str(_existing(tls, "cert_file")) if "cert_file" in tls.data else None,
        key_file=str(_existing(tls, "key_file")) if "key_file" in tls.data else None,
    )


def _existing(section: Section, name: str) -> str:
    path = section.path(name)
    if not path.is_file():
        raise section.error(name, "an existing file", str(path))
    return str(path)


def _password(section: Section) -> str:
    return section.secret_file("password_file", "the password")


def _subscription(entry: Section) -> Subscription:
    entry.refuse_moved(*MOVED_TO_TYPE)
    entry.allow("source", "topic", "qos")
    topic = entry.string("topic")
    if (
        "\x00" in topic
        or any(
            ("#" in level and level != "#") or ("+" in level and level != "+")
            for level in topic.split("/")
        )
        or ("#" in topic and not topic.endswith("#"))
    ):
        raise entry.error("topic", "an MQTT topic filter (+ and # only as whole levels)", topic)
    return Subscription(
        source=entry.identifier("source"), topic=topic, qos=entry.integer("qos", 0, 2, 0)
    )
