"""gateway.toml edited in place: a binding per transport goes where it belongs, and
everything a person wrote (comments, order, ``[[...]]`` sections, hex numbers) stays.

The expected texts are whole files: a stray blank line or a lost comment fails.
"""

from __future__ import annotations

import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from edgeward.cli import build_parser
from edgeward.gateway.config.loader import load_config
from edgeward.gateway.config.toml_writer import dump_toml, write_secret
from edgeward.provisioning import gateway_toml
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.placement import parse_pairs, place, placement, refuse_taken
from tests.docs.pages import blocks

HEAD = """\
# Site 12: written by hand
[gateway]
id = "gw-1"  # from provisioning
data_dir = "data"

[cloud]
url = "http://127.0.0.1:9"
credential_file = "credential"
"""
METERS = """
# the panel's meters
[[modbus_tcp]]
host = "10.0.0.5"
port = 0x1F6  # 502, in hex

[[modbus_tcp.devices]]
source = "meter-1"  # left
unit = 0x0A
"""
PROBE = """
[[serial]]
port = "/dev/ttyS0"
source = "probe-1"
"""
BASE = HEAD + METERS + PROBE


def add(
    tmp_path: Path, text: str, transport: str, source: str, binding: dict[str, Any], **options: Any
) -> tuple[str, list[str]]:
    """gateway.toml ``text`` with ``source`` bound, checked by the gateway's parser."""
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    write_secret(tmp_path / "credential", "ewg_example")
    current = load_config(config)
    where = placement(current, transport, source, binding, **options)
    notes = refuse_taken(current, source, where)
    document = gateway_toml.read(config)
    place(document, where)
    rendered = gateway_toml.text(document)
    gateway_toml.check(config, rendered, f"with {source} added")
    return rendered, notes


def test_a_modbus_unit_joins_its_endpoint_and_the_rest_stays_as_written(tmp_path: Path) -> None:
    bus = "modbus-tcp://10.0.0.5:502"
    text, notes = add(
        tmp_path, BASE, "modbus", "meter-2", {"bus": bus, "unit": 11}, poll_interval=2.0
    )
    added = '\n[[modbus_tcp.devices]]\nsource = "meter-2"\nunit = 11\npoll_interval = 2.0\n'
    assert text == HEAD + METERS + added + PROBE
    assert notes == []


def test_a_new_endpoint_follows_the_last_one_with_the_default_port(tmp_path: Path) -> None:
    text, _ = add(tmp_path, BASE, "modbus", "meter-3", {"bus": "modbus-tcp://10.0.0.6", "unit": 3})
    added = (
        "\n"
        "[[modbus_tcp]]\n"
        'host = "10.0.0.6"\n'
        "port = 502\n"
        "\n"
        "[[modbus_tcp.devices]]\n"
        'source = "meter-3"\n'
        "unit = 3\n"
    )
    assert text == HEAD + METERS + added + PROBE
    assert [e.bus for e in load_config(tmp_path / "gateway.toml").modbus_tcp] == [
        "modbus-tcp://10.0.0.5:502"
    ], "the check read a candidate; the file itself is not written here"


def test_an_rtu_bus_is_made_at_the_end_with_its_speed(tmp_path: Path) -> None:
    binding = {"bus": "modbus-rtu:///dev/ttyUSB1", "unit": 4}
    text, _ = add(tmp_path, BASE, "modbus", "meter-4", binding, baudrate=9600)
    assert text == BASE + (
        "\n"
        "[[modbus_rtu]]\n"
        'port = "/dev/ttyUSB1"\n'
        "baudrate = 9600\n"
        "\n"
        "[[modbus_rtu.devices]]\n"
        'source = "meter-4"\n'
        "unit = 4\n"
    )


def test_a_serial_port_gets_a_section_of_its_own(tmp_path: Path) -> None:
    text, _ = add(tmp_path, BASE, "serial", "gps-1", {"port": "/dev/ttyS1"}, baudrate=4800)
    assert text == BASE + ('\n[[serial]]\nport = "/dev/ttyS1"\nbaudrate = 4800\nsource = "gps-1"\n')


def test_a_ble_device_makes_the_ble_table_and_its_address_is_spelt_as_the_gateway_does(
    tmp_path: Path,
) -> None:
    binding = {"address": "c0:ff:ee:00:00:01"}
    text, _ = add(tmp_path, BASE, "ble", "env-1", binding, poll_interval=30.0)
    assert text == BASE + (
        "\n"
        "[ble]\n"
        "\n"
        "[[ble.devices]]\n"
        'address = "C0:FF:EE:00:00:01"\n'
        'source = "env-1"\n'
        "poll_interval = 30.0\n"
    )


def test_an_mqtt_topic_makes_the_broker_named_then_joins_it(tmp_path: Path) -> None:
    first, notes = add(
        tmp_path, BASE, "mqtt", "room-1", {"topic": "site/room-1"}, broker="10.0.0.7:1883"
    )
    assert first == BASE + (
        "\n"
        "[[mqtt]]\n"
        'host = "10.0.0.7"\n'
        "port = 1883\n"
        "\n"
        "[[mqtt.subscriptions]]\n"
        'source = "room-1"\n'
        'topic = "site/room-1"\n'
    )
    assert notes == [
        "a new [[mqtt]] for 10.0.0.7:1883, without credentials or TLS: add username, "
        "password_file or [mqtt.tls] to it if the broker needs them"
    ]
    # The only broker there is needs no --broker.
    second, notes = add(tmp_path, first, "mqtt", "room-2", {"topic": "site/room-2"})
    assert second == first + '\n[[mqtt.subscriptions]]\nsource = "room-2"\ntopic = "site/room-2"\n'
    assert notes == []


def test_an_inline_array_stays_inline(tmp_path: Path) -> None:
    inline = HEAD + '\n[[modbus_tcp]]\nhost = "h"\ndevices = [{ source = "m1", unit = 1 }]\n'
    text, _ = add(tmp_path, inline, "modbus", "m2", {"bus": "modbus-tcp://h:502", "unit": 2})
    assert text == HEAD + (
        '\n[[modbus_tcp]]\nhost = "h"\n'
        'devices = [{ source = "m1", unit = 1 }, {source = "m2", unit = 2}]\n'
    )


def test_a_file_written_by_dump_toml_is_edited_in_the_same_style(tmp_path: Path) -> None:
    """Provisioning's first gateway.toml comes from dump_toml: [[...]] sections
    after [gateway], never inline arrays among the top-level keys (issue 16)."""
    written = dump_toml(
        {
            "gateway": {"id": "gw-1", "data_dir": "data"},
            "cloud": {"url": "http://127.0.0.1:9", "credential_file": "credential"},
            "serial": [{"port": "/dev/ttyS0", "source": "probe-1"}],
        }
    )
    uncommented = HEAD.removeprefix("# Site 12: written by hand\n")
    assert written == uncommented.replace("  # from provisioning", "") + PROBE
    text, _ = add(tmp_path, written, "serial", "probe-2", {"port": "/dev/ttyS1"})
    assert text == written + '\n[[serial]]\nport = "/dev/ttyS1"\nsource = "probe-2"\n'


def test_a_unit_another_source_reads_may_be_bound_again_with_a_note(tmp_path: Path) -> None:
    binding = {"bus": "modbus-tcp://10.0.0.5:502", "unit": 10}
    _, notes = add(tmp_path, BASE, "modbus", "meter-1-phase-b", binding)
    assert notes == [
        "unit 10 on modbus-tcp://10.0.0.5:502 is read for meter-1 too "
        "(modbus_tcp[0].devices[0]); each source reads its own type's registers"
    ]


RTU = '\n[[modbus_rtu]]\nport = "/dev/ttyUSB0"\n\n[[modbus_rtu.devices]]\nsource = "m9"\nunit = 9\n'
BLE = '\n[ble]\n\n[[ble.devices]]\naddress = "C0:FF:EE:00:00:01"\nsource = "env-1"\n'
MQTT = '\n[[mqtt]]\nhost = "b"\n\n[[mqtt.subscriptions]]\nsource = "room-1"\ntopic = "a/b"\n'


@pytest.mark.parametrize(
    ("text", "transport", "source", "binding", "refusal"),
    [
        (
            BASE,
            "serial",
            "meter-1",
            {"port": "/dev/ttyS9"},
            "meter-1 is in gateway.toml already: modbus_tcp[0].devices[0] "
            "(bus modbus-tcp://10.0.0.5:502, unit 10)",
        ),
        (
            BASE,
            "serial",
            "gps-1",
            {"port": "/dev/ttyS0"},
            "serial port /dev/ttyS0 is taken: serial[0] reads it for probe-1",
        ),
        (
            BASE + RTU,
            "serial",
            "gps-1",
            {"port": "/dev/ttyUSB0"},
            "serial port /dev/ttyUSB0 is taken: modbus_rtu[0] reads it for its Modbus units "
            "(modbus-rtu:///dev/ttyUSB0)",
        ),
        (
            BASE,
            "modbus",
            "m1",
            {"bus": "modbus-rtu:///dev/ttyS0", "unit": 1},
            "serial port /dev/ttyS0 is taken: serial[0] reads it for probe-1",
        ),
        (
            BASE + BLE,
            "ble",
            "env-2",
            {"address": "c0:ff:ee:00:00:01"},
            "BLE address C0:FF:EE:00:00:01 is taken: ble.devices[0] reads it for env-1",
        ),
        (
            BASE + MQTT,
            "mqtt",
            "room-2",
            {"topic": "a/b"},
            "topic a/b on mqtt://b:1883 is taken: mqtt[0].subscriptions[0] reads it for room-1",
        ),
    ],
    ids=["source", "serial-port", "port-of-a-bus", "bus-on-a-serial-port", "ble", "topic"],
)
def test_a_source_or_place_already_bound_is_refused_naming_the_entry(
    tmp_path: Path,
    text: str,
    transport: str,
    source: str,
    binding: dict[str, Any],
    refusal: str,
) -> None:
    with pytest.raises(UsageError) as refused:
        add(tmp_path, text, transport, source, binding)
    assert refused.value.message == refusal


@pytest.mark.parametrize(
    ("transport", "binding", "options", "refusal"),
    [
        ("modbus", {"bus": "modbus-tcp://h:502"}, {}, "missing unit"),
        ("modbus", {"bus": "tcp://h:502", "unit": 1}, {}, "expected modbus-tcp://HOST:PORT"),
        ("serial", {"port": "/dev/x", "unit": 1}, {}, "not unit"),
        ("mqtt", {"topic": "t"}, {}, "which broker the topic is on (none in gateway.toml)"),
        ("mqtt", {"topic": "t"}, {"poll_interval": 1.0}, "publishes when it likes"),
        ("ble", {"address": "C0"}, {"baudrate": 9600}, "a ble device has no baud rate"),
        ("modbus", {"bus": "modbus-tcp://h", "unit": 1}, {"baudrate": 9600}, "no baud rate"),
    ],
)
def test_a_binding_that_does_not_fit_the_transport_is_refused(
    tmp_path: Path, transport: str, binding: dict[str, Any], options: Any, refusal: str
) -> None:
    with pytest.raises(UsageError, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        add(tmp_path, BASE, transport, "new-1", binding, **options)


def test_a_result_the_parser_refuses_names_gateway_toml_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    with pytest.raises(UsageError) as refused:
        add(tmp_path, BASE, "modbus", "m", {"bus": "modbus-tcp://10.0.0.5:502", "unit": 300})
    config = tmp_path / "gateway.toml"
    assert refused.value.message == (
        f"{config} with m added would not load: modbus_tcp[0].devices[1].unit: "
        "expected an integer from 0 to 255, found 300"
    )
    assert config.read_text() == BASE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credential", "gateway.toml"]


def test_replace_keeps_the_files_mode(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(BASE)
    config.chmod(0o640)
    gateway_toml.replace(config, BASE + PROBE)
    assert config.read_text() == BASE + PROBE
    assert stat.S_IMODE(config.stat().st_mode) == 0o640


def test_reprovisioning_changes_only_the_gateway_and_cloud_tables(tmp_path: Path) -> None:
    """``edgeward provision`` run again (a new cloud URL, no signing key any more)
    keeps every device section, comment and hex number."""
    keyed = BASE.replace(
        'credential_file = "credential"\n', 'credential_file = "credential"\npublic_key = "k"\n'
    )
    config = tmp_path / "gateway.toml"
    config.write_text(keyed)
    document = gateway_toml.read(config)
    gateway_toml.set_table(document, "gateway", {"id": "gw-1", "data_dir": "data"})
    cloud = {"url": "http://10.99.0.1:8080", "credential_file": "credential"}
    gateway_toml.set_table(document, "cloud", cloud)
    assert gateway_toml.text(document) == BASE.replace(
        "http://127.0.0.1:9", "http://10.99.0.1:8080"
    )
    fresh = gateway_toml.read(tmp_path / "gateway.toml")
    fresh.remove("gateway")
    gateway_toml.set_table(fresh, "gateway", {"id": "gw-2"})
    assert gateway_toml.text(fresh).endswith('source = "probe-1"\n\n[gateway]\nid = "gw-2"\n')


def test_the_docs_devices_add_example_writes_the_section_the_docs_show(tmp_path: Path) -> None:
    """docs/installers/devices.md shows a `devices add` command and the section it
    writes; placed here without the network (10.0.0.5 is no address to call)."""
    page = Path(__file__).parents[2] / "docs" / "installers" / "devices.md"
    [command] = [
        shlex.split(line)
        for block in blocks("sh")
        if block.path == page
        for line in block.text.replace("\\\n", " ").splitlines()
        if line.startswith("edgeward devices add ")
    ]
    [section] = [block.text for block in blocks("toml") if block.path == page]
    arguments = build_parser("devices").parse_args(command[1:])
    head = HEAD.replace("# Site 12: written by hand\n", "")
    text, _ = add(tmp_path, head, "modbus", arguments.source, parse_pairs(arguments.binding))
    assert arguments.type_id == "builtin:modbus-power-meter"
    assert text == head + "\n" + section
