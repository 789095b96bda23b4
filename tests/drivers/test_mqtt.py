"""The MQTT driver against a private mosquitto (password file, TLS) and the shipped MQTT sensor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeward.drivers.base import Reading
from edgeward.drivers.errors import DriverConfigError
from edgeward.drivers.mqtt.client import Broker, MqttDriver, Subscription, Tls
from edgeward.harness.processes import ChildProcess
from tests.drivers.streaming import run_driver, until
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto, free_port


def sensor(broker: Mosquitto, *topics: str) -> ChildProcess:
    password_file = broker.directory / "sensor-password"
    password_file.write_text(PASSWORD)
    assert broker.certificates is not None
    args = ["simulate", "mqtt-sensor", "--port", str(broker.port), "--interval", "0.05"]
    args += ["--username", USERNAME, "--password-file", str(password_file)]
    args += ["--ca-file", str(broker.certificates.ca_file)]
    for topic in topics:
        args += ["--topic", topic]
    return ChildProcess("mqtt-sensor", args, broker.directory / "mqtt-sensor.log")


def broker_for(mosquitto: Mosquitto, password: str = PASSWORD) -> Broker:
    assert mosquitto.certificates is not None
    return Broker(
        "127.0.0.1",
        mosquitto.port,
        username=USERNAME,
        password=password,
        tls=Tls(str(mosquitto.certificates.ca_file)),
        reconnect_min=1,
        backoff_max=1,
    )


def counters(readings: list[Reading], source: str) -> list[int]:
    return [json.loads(r.raw)["counter"] for r in readings if r.source == source]


def test_each_source_gets_its_topics_over_tls_with_a_password(tmp_path: Path) -> None:
    with Mosquitto(tmp_path) as mosquitto, sensor(mosquitto, "site/a/temp", "site/b/temp"):
        driver = MqttDriver(
            broker_for(mosquitto),
            [Subscription("probe-a", "site/a/temp"), Subscription("probe-b", "site/+/temp", 1)],
        )

        async def test(readings: list[Reading]) -> None:
            await until(lambda: len(counters(readings, "probe-a")) >= 3, "three for probe-a")
            a = [r for r in readings if r.source == "probe-a"]
            assert {r.origin for r in a} == {f"mqtts://127.0.0.1:{mosquitto.port}/site/a/temp"}
            # The wildcard source sees both topics; the exact one only its own.
            b_topics = {r.origin.rsplit("/", 3)[-2] for r in readings if r.source == "probe-b"}
            assert b_topics <= {"a", "b"} and "b" in b_topics
            assert driver.health()["probe-a"].available

        run_driver(driver, test)


def test_wrong_password_is_unavailable_and_never_raises(tmp_path: Path) -> None:
    with Mosquitto(tmp_path) as mosquitto, sensor(mosquitto, "site/a/temp"):
        driver = MqttDriver(
            broker_for(mosquitto, "wrong"), [Subscription("probe-a", "site/a/temp")]
        )
        health = driver.health()["probe-a"]

        async def test(readings: list[Reading]) -> None:
            await until(lambda: health.failures >= 1, "a refused connection")
            assert not health.available and readings == []
            assert health.last_error is not None and "refused" in health.last_error

        run_driver(driver, test)


def test_broker_restart_reconnects_and_resubscribes(tmp_path: Path) -> None:
    mosquitto = Mosquitto(tmp_path).start()
    try:
        with sensor(mosquitto, "site/a/temp"):
            driver = MqttDriver(broker_for(mosquitto), [Subscription("probe-a", "site/a/temp")])
            health = driver.health()["probe-a"]

            async def test(readings: list[Reading]) -> None:
                await until(lambda: len(readings) >= 3, "messages before the restart")
                mosquitto.stop()
                await until(lambda: not health.available, "the driver to notice")
                before = len(readings)
                mosquitto.start()
                # mosquitto forgot every subscription: messages now prove we resubscribed.
                await until(lambda: len(readings) >= before + 3, "messages after the restart")
                assert health.available

            run_driver(driver, test)
    finally:
        mosquitto.stop()


def test_no_broker_listening_is_unavailable_and_never_raises() -> None:
    broker = Broker("127.0.0.1", free_port(), connect_timeout=0.5, reconnect_min=1, backoff_max=1)
    driver = MqttDriver(broker, [Subscription("probe-a", "site/a/temp")])
    health = driver.health()["probe-a"]

    async def test(readings: list[Reading]) -> None:
        await until(lambda: health.failures >= 1, "a failed connection")
        assert not health.available and readings == []
        assert health.last_error == "cannot connect"

    run_driver(driver, test)


def test_misconfigured_subscriptions_are_config_errors() -> None:
    broker = Broker("127.0.0.1")
    with pytest.raises(DriverConfigError):
        MqttDriver(broker, [])
    with pytest.raises(DriverConfigError, match="twice"):
        MqttDriver(broker, [Subscription("a", "x"), Subscription("a", "y")])
    with pytest.raises(DriverConfigError):
        MqttDriver(broker, [Subscription("a", "x", qos=3)])
