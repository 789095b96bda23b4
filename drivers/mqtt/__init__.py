"""MQTT devices (paho-mqtt 2.x): one broker connection, a subscription per data source."""

from edgeward.drivers.mqtt.client import Broker, MqttDriver, Subscription, Tls

__all__ = ["Broker", "MqttDriver", "Subscription", "Tls"]
