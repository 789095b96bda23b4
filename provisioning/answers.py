"""Does the device answer? Asked before ``edgeward devices add`` registers it.

Validate by doing, as Home Assistant's config flows connect before they
save: a source registered for a device that is not there would only show
later as a gateway polling nothing. Each check does the least that proves
the device is where the binding says, with what gateway.toml says about
the link (its baud rate, the broker's credentials and TLS):

- Modbus: read one register, the type's lowest-addressed one (its table
  and address), from the unit (pymodbus, as ``devices scan``). An
  exception response the unit itself sends (codes 1-3) means it is there
  but does not serve that register: a wrong unit or a wrong type, so it
  fails too, naming the exception.
- serial: open the port and wait for bytes; a type with a ``request``
  (a device that only answers) gets it sent first.
- MQTT: the broker accepts a connection (under a client id of its own, so
  a running gateway's session is not taken over).
- BLE: the address is seen advertising in a scan (the BLE driver's own
  :class:`~edgeward.drivers.ble.discovery.Discovery`).

Each :class:`Answer` says what was tried and what came back, for the
installer to act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable, DriverError
from edgeward.drivers.modbus.blocks import Block, Table
from edgeward.drivers.modbus.requests import LinkBroken, connect, read_block
from edgeward.drivers.mqtt.client import Broker, authenticate
from edgeward.drivers.serial.port import SerialPort, SerialSettings
from edgeward.gateway.config.loader import GatewayConfig, SerialConfig
from edgeward.provisioning.scan import UNDERSTOOD
from edgeward.sync.source_types.spec import (
    BleType,
    ModbusDecoder,
    ModbusType,
    SerialType,
    TypeSpec,
)

# Bytes of an answer shown to the installer.
SHOWN = 24
# What Discovery names in an error of the scan itself (drivers/ble/discovery.py).
SCANNER = "BLE scanner"


@dataclass(frozen=True, slots=True)
class Answer:
    answered: bool
    tried: str
    result: str


def check_answer(config: GatewayConfig, source: str, spec: TypeSpec, timeout: float) -> Answer:
    """Ask the device bound as ``source`` in ``config`` (the file to be written)."""
    if isinstance(spec, ModbusType):
        return _modbus_device(config, source, spec.decoder, timeout)
    if isinstance(spec, SerialType):
        serial = next(port for port in config.serial if port.source == source)
        return asyncio.run(_serial(serial, spec.decoder.request, timeout))
    if isinstance(spec, BleType):
        assert config.ble is not None, "bound in [ble]"
        ble = next(device for device in config.ble.devices if device.source == source)
        assert ble.match.address is not None, "bound by its address"
        return asyncio.run(_ble(config.ble.adapter, ble.match.address, timeout))
    broker = next(
        mqtt.broker
        for mqtt in config.mqtt
        if any(subscription.source == source for subscription in mqtt.subscriptions)
    )
    return _mqtt(broker, timeout)


def _modbus_device(
    config: GatewayConfig, source: str, decoder: ModbusDecoder, timeout: float
) -> Answer:
    for endpoint in config.modbus_tcp:
        for device in endpoint.devices:
            if device.source == source:
                tcp = functools.partial(
                    AsyncModbusTcpClient,
                    endpoint.host,
                    port=endpoint.port,
                    timeout=timeout,
                    retries=0,
                    reconnect_delay=0,
                )
                return _modbus(tcp, endpoint.bus, device.unit, decoder, timeout)
    bus, device = next((b, d) for b in config.modbus_rtu for d in b.devices if d.source == source)
    wait = max(device.timeout or bus.timeout, timeout)

    rtu = functools.partial(
        AsyncModbusSerialClient,
        bus.port,
        baudrate=bus.baudrate,
        parity=bus.parity,
        bytesize=bus.bytesize,
        stopbits=bus.stopbits,
        timeout=wait,
        retries=0,
        reconnect_delay=0,
    )
    return _modbus(rtu, bus.bus, device.unit, decoder, wait)


def first_register(decoder: ModbusDecoder) -> Block:
    """One register (or bit) at the type's lowest address: the cheapest read it must serve."""
    register = min(decoder.registers, key=lambda r: r.address)
    return Block(Table(register.table), register.address, 1)


def _modbus(
    make_client: Callable[[], Any], bus: str, unit: int, decoder: ModbusDecoder, wait: float
) -> Answer:
    block = first_register(decoder)
    what = "bit" if block.table.is_bits else "register"
    tried = f"read {block.table} {what} {block.address} of unit {unit} at {bus}"

    async def read() -> bytes:
        client = make_client()  # pymodbus clients belong to the loop that makes them
        try:
            await connect(client, wait, bus, "connection refused")
            return await read_block(client, block, unit, wait, f"{bus} unit {unit}")
        finally:
            client.close()

    try:
        frame = asyncio.run(read())
    except DeviceProtocolError as exc:
        if exc.code in UNDERSTOOD:
            return Answer(
                False,
                tried,
                f"the unit answered {_message(exc)}: it is there but does not serve this "
                "type's registers (another unit id, or another type?)",
            )
        # A TCP server or gateway answers "device failure" for units it hasn't got.
        return Answer(False, tried, f"{_message(exc)} for unit {unit}: not there, or failing")
    except LinkBroken:
        return Answer(False, tried, f"no answer within {wait:g} s")
    except DeviceUnavailable as exc:
        return Answer(False, tried, _message(exc))
    return Answer(True, tried, f"it answered {frame.hex()}")


async def _serial(port: SerialConfig, request: str | None, wait: float) -> Answer:
    settings = SerialSettings(port.port, port.baudrate, port.parity, port.bytesize, port.stopbits)
    sent = f", send the type's request {request!r}" if request else ""
    tried = f"open {port.port} at {port.baudrate} baud{sent} and wait {wait:g} s for bytes"
    link = SerialPort(settings)
    try:
        await link.open()
    except DeviceUnavailable as exc:
        return Answer(
            False, tried, f"{_message(exc)} (is the gateway or another program using it?)"
        )
    try:
        if request:
            link.discard_input()
            await link.write(request.encode())
        data = await link.read(wait)
    except TimeoutError:
        return Answer(False, tried, "no bytes came (wiring, baud rate, or the device's power?)")
    except DeviceUnavailable as exc:
        return Answer(False, tried, _message(exc))
    finally:
        link.close()
    return Answer(True, tried, f"{len(data)} bytes came: {data[:SHOWN]!r}")


def _mqtt(broker: Broker, wait: float) -> Answer:
    user = f" as {broker.username}" if broker.username else ""
    tried = f"connect to {broker.url}{user}"
    # A client id of its own: the gateway's would make the broker drop the gateway.
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="")
    client.connect_timeout = wait
    accepted = threading.Event()
    reasons: list[Any] = []

    def on_connect(_client: paho.Client, _data: Any, _flags: Any, reason: Any, _props: Any) -> None:
        reasons.append(reason)
        accepted.set()

    client.on_connect = on_connect
    try:
        authenticate(client, broker)
        client.connect(broker.host, broker.port, keepalive=broker.keepalive)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return Answer(False, tried, f"cannot connect: {exc}")
    client.loop_start()
    try:
        if not accepted.wait(wait):
            return Answer(False, tried, f"no answer to CONNECT within {wait:g} s")
    finally:
        client.disconnect()
        client.loop_stop()
    if reasons[0].is_failure:
        return Answer(False, tried, f"the broker refused: {reasons[0]}")
    return Answer(True, tried, "the broker accepted the connection")


async def _ble(adapter: str | None, address: str, wait: float) -> Answer:
    # bleak (and D-Bus) only for BLE devices: imported here, as `devices scan` does.
    from edgeward.drivers.ble.config import DeviceMatch
    from edgeward.drivers.ble.discovery import Discovery

    tried = f"scan {wait:g} s for {address}" + (f" on {adapter}" if adapter else "")
    discovery = Discovery(adapter, wait)
    scanning = asyncio.create_task(discovery.run())
    try:
        found = await discovery.find(DeviceMatch(address=address), wait)
    except DriverError as exc:
        if exc.device == SCANNER:  # the scan itself failed, not the device
            return Answer(False, tried, f"no BLE adapter usable here ({_message(exc)})")
        return Answer(False, tried, _message(exc))
    finally:
        scanning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scanning
    return Answer(True, tried, f"seen advertising as {found.name or '(no name)'}")


def _message(exc: DriverError) -> str:
    text = str(exc)
    return text.removeprefix(f"{exc.device}: ") if exc.device else text
