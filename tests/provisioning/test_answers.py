"""Does the device answer? Asked of real peers: a pymodbus server, a sensor behind a
socat pty, mosquitto with a password file and TLS, and BLE where there is no adapter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeward.drivers.simulators.modbus_server import SerialRegisterBankServer
from edgeward.gateway.config.loader import GatewayConfig, load_config
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.provisioning.answers import Answer, check_answer
from edgeward.sync.source_types import parse_type_spec
from edgeward.sync.source_types.builtin import MODBUS_POWER_METER
from edgeward.sync.source_types.spec import TypeSpec
from tests.peers.modbus import ModbusServerThread
from tests.peers.mosquitto import PASSWORD, USERNAME, Mosquitto, free_port
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair

WAIT = 0.5
METER = parse_type_spec(MODBUS_POWER_METER)


def config_with(tmp_path: Path, **sections: Any) -> GatewayConfig:
    write_secret(tmp_path / "credential", "ewg_example")
    document = {
        "gateway": {"id": "gw-1", "data_dir": "data"},
        "cloud": {"url": "http://127.0.0.1:9", "credential_file": "credential"},
        **sections,
    }
    (tmp_path / "gateway.toml").write_text(dump_toml(document))
    return load_config(tmp_path / "gateway.toml")


def modbus_type(address: int, table: str = "holding") -> TypeSpec:
    register = {"name": "v", "address": address, "type": "uint16", "table": table}
    registers = [{**register, "address": address + 10, "name": "w"}, register]
    return parse_type_spec(
        {"transport": "modbus", "auth_mode": "bound", "decoder": {"registers": registers}}
    )


@pytest.fixture(scope="module")
def meters() -> Iterator[ModbusServerThread]:
    with ModbusServerThread([1]) as server:
        server.update(lambda bank: bank.write(1, 0, [0x4366, 0x8000]))
        server.update(lambda bank: bank.write(1, 40, [0x0102]))
        yield server


def ask_modbus(tmp_path: Path, port: int, unit: int, spec: TypeSpec) -> Answer:
    endpoint = {"host": "127.0.0.1", "port": port, "devices": [{"source": "m", "unit": unit}]}
    return check_answer(config_with(tmp_path, modbus_tcp=[endpoint]), "m", spec, WAIT)


def test_a_modbus_unit_answers_with_the_types_lowest_register(
    tmp_path: Path, meters: ModbusServerThread
) -> None:
    answer = ask_modbus(tmp_path, meters.port, 1, METER)
    where = f"modbus-tcp://127.0.0.1:{meters.port}"
    assert answer == Answer(
        True, f"read holding register 0 of unit 1 at {where}", "it answered 4366"
    )
    # The lowest address, not the first listed; its table too.
    answer = ask_modbus(tmp_path, meters.port, 1, modbus_type(40, "input"))
    assert answer == Answer(
        True, f"read input register 40 of unit 1 at {where}", "it answered 0102"
    )


def test_a_unit_that_is_not_there_is_named_with_what_was_tried(
    tmp_path: Path, meters: ModbusServerThread
) -> None:
    answer = ask_modbus(tmp_path, meters.port, 2, METER)
    where = f"modbus-tcp://127.0.0.1:{meters.port}"
    assert (answer.answered, answer.tried) == (
        False,
        f"read holding register 0 of unit 2 at {where}",
    )
    # pymodbus's server answers for a unit it hasn't got, as a TCP gateway does.
    assert (
        answer.result == "exception 0x04 (server device failure) for unit 2: not there, or failing"
    )


def test_a_unit_that_refuses_the_types_register_does_not_pass(
    tmp_path: Path, meters: ModbusServerThread
) -> None:
    # The simulator serves 256 registers: 300 is an address it refuses.
    answer = ask_modbus(tmp_path, meters.port, 1, modbus_type(300))
    assert not answer.answered
    assert answer.result == (
        "the unit answered exception 0x02 (illegal data address): it is there but does "
        "not serve this type's registers (another unit id, or another type?)"
    )


def test_a_closed_endpoint_does_not_answer(tmp_path: Path) -> None:
    answer = ask_modbus(tmp_path, free_port(), 1, METER)
    assert not answer.answered
    assert answer.result == "connection refused"


def test_an_rtu_unit_answers_and_a_silent_one_is_named(tmp_path: Path) -> None:
    with PtyPair(tmp_path) as cable:
        # The RTU simulator on the cable's far end: absent units stay silent, as on RS-485.
        line = ModbusServerThread([])
        line.server = SerialRegisterBankServer([1], str(cable.peer_end))
        with line:
            line.update(lambda bank: bank.write(1, 0, [0x4366]))
            bus = {"port": str(cable.device_end), "timeout": 0.3}
            units = [{"source": "m1", "unit": 1}, {"source": "m5", "unit": 5}]
            config = config_with(tmp_path, modbus_rtu=[{**bus, "devices": units}])
            there = check_answer(config, "m1", METER, WAIT)
            silent = check_answer(config, "m5", METER, WAIT)
    where = f"modbus-rtu://{cable.device_end}"
    assert there == Answer(
        True, f"read holding register 0 of unit 1 at {where}", "it answered 4366"
    )
    assert silent == Answer(
        False, f"read holding register 0 of unit 5 at {where}", "no answer within 0.5 s"
    )


STREAMING = parse_type_spec(
    {
        "transport": "serial",
        "auth_mode": "bound",
        "decoder": {"fields": [{"name": "counter", "type": "integer"}]},
    }
)
POLLED = parse_type_spec(
    {
        "transport": "serial",
        "auth_mode": "bound",
        "decoder": {"request": "READ\n", "fields": [{"name": "counter", "type": "integer"}]},
    }
)


@pytest.fixture
def cable(tmp_path: Path) -> Iterator[PtyPair]:
    with PtyPair(tmp_path) as pair:
        yield pair


def ask_serial(tmp_path: Path, cable: PtyPair, spec: TypeSpec) -> Answer:
    port = {"port": str(cable.device_end), "source": "probe-1"}
    return check_answer(config_with(tmp_path, serial=[port]), "probe-1", spec, WAIT)


def test_a_serial_device_that_talks_answers(tmp_path: Path, cable: PtyPair) -> None:
    with serial_sensor(cable.peer_end, tmp_path, "--interval", "0.05"):
        answer = ask_serial(tmp_path, cable, STREAMING)
    assert answer.tried == f"open {cable.device_end} at 9600 baud and wait 0.5 s for bytes"
    assert answer.answered and re.fullmatch(r"\d+ bytes came: b'.+'", answer.result), answer


def test_a_device_that_only_answers_gets_the_types_request(tmp_path: Path, cable: PtyPair) -> None:
    with serial_sensor(cable.peer_end, tmp_path, "--respond-to", "READ"):
        silent = ask_serial(tmp_path, cable, STREAMING)
        asked = ask_serial(tmp_path, cable, POLLED)
    assert silent == Answer(
        False,
        f"open {cable.device_end} at 9600 baud and wait 0.5 s for bytes",
        "no bytes came (wiring, baud rate, or the device's power?)",
    )
    assert asked.tried == (
        f"open {cable.device_end} at 9600 baud, send the type's request 'READ\\n' "
        "and wait 0.5 s for bytes"
    )
    assert asked.answered and asked.result.startswith("1"), asked
    assert asked.result.endswith("bytes came: b'1,20.10,41.0\\n'"), asked


def test_a_port_that_is_not_there_is_named(tmp_path: Path) -> None:
    port = {"port": str(tmp_path / "ttyGONE"), "source": "probe-1"}
    answer = check_answer(config_with(tmp_path, serial=[port]), "probe-1", STREAMING, WAIT)
    assert not answer.answered
    assert answer.result.startswith("cannot open: "), answer.result


MQTT_TYPE = parse_type_spec(
    {"transport": "mqtt", "auth_mode": "bound", "decoder": {"fields": [{"name": "t"}]}}
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as started:
        yield started


def ask_mqtt(tmp_path: Path, broker: Mosquitto, port: int, password: str) -> Answer:
    assert broker.certificates is not None
    write_secret(tmp_path / "mqtt-password", password)
    section = {
        "host": "127.0.0.1",
        "port": port,
        "username": USERNAME,
        "password_file": "mqtt-password",
        "tls": {"ca_file": str(broker.certificates.ca_file)},
        "client_id": "edgeward-gateway",
        "subscriptions": [{"source": "room-1", "topic": "site/room-1"}],
    }
    return check_answer(config_with(tmp_path, mqtt=[section]), "room-1", MQTT_TYPE, WAIT)


def test_an_mqtt_broker_that_accepts_the_gateways_credentials_answers(
    tmp_path: Path, broker: Mosquitto
) -> None:
    answer = ask_mqtt(tmp_path, broker, broker.port, PASSWORD)
    tried = f"connect to mqtts://127.0.0.1:{broker.port} as {USERNAME}"
    assert answer == Answer(True, tried, "the broker accepted the connection")


def test_an_mqtt_broker_that_refuses_says_why(tmp_path: Path, broker: Mosquitto) -> None:
    answer = ask_mqtt(tmp_path, broker, broker.port, "wrong-password")
    assert (answer.answered, answer.result) == (False, "the broker refused: Not authorized")
    closed = ask_mqtt(tmp_path, broker, free_port(), PASSWORD)
    assert not closed.answered and closed.result.startswith("cannot connect: "), closed


def test_a_ble_device_not_seen_does_not_answer(tmp_path: Path) -> None:
    ble = {"devices": [{"address": "C0:FF:EE:00:00:01", "source": "env-1"}]}
    spec = parse_type_spec(
        {
            "transport": "ble",
            "auth_mode": "bound",
            "decoder": {"characteristics": [{"uuid": "2a6e"}]},
        }
    )
    answer = check_answer(config_with(tmp_path, ble=ble), "env-1", spec, WAIT)
    assert (answer.answered, answer.tried) == (False, "scan 0.5 s for C0:FF:EE:00:00:01")
    # Here there is no adapter; where there is one, the device is simply not there.
    assert answer.result.startswith(
        ("no BLE adapter usable here (", "not seen advertising within")
    ), answer.result
