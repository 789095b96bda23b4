"""The serial driver against the shipped sensor program behind a socat pty pair."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import serial

from edgeward.drivers.base import Reading
from edgeward.drivers.errors import DeviceProtocolError, DeviceUnavailable
from edgeward.drivers.serial.framing import (
    Checksum,
    LengthPrefixedFramer,
    LineFramer,
    StxEtxFramer,
)
from edgeward.drivers.serial.polled import SerialPollingDriver
from edgeward.drivers.serial.port import SerialSettings
from edgeward.drivers.serial.stream import SerialDriver
from edgeward.drivers.simulators.serial_sensor import payload_for
from tests.drivers.streaming import run_driver, until
from tests.peers.serial_sensor import serial_sensor
from tests.peers.socat import PtyPair


def counter(reading: Reading) -> int | None:
    """The sensor's frame counter, or None for a frame cut short when the port opened."""
    try:
        number = int(reading.raw.split(b",")[0])
    except ValueError:
        return None
    return number if reading.raw == payload_for(number) else None


def counters(readings: list[Reading]) -> list[int]:
    return [c for c in map(counter, readings) if c is not None]


def test_streaming_lines_arrive_in_order_with_their_origin(tmp_path: Path) -> None:
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, "--interval", "0.02"):
        driver = SerialDriver(SerialSettings(str(pair.device_end)), "probe-1", LineFramer())

        async def test(readings: list[Reading]) -> None:
            await until(lambda: len(counters(readings)) >= 10, "ten whole frames")
            seen = counters(readings)
            assert seen == list(range(seen[0], seen[0] + len(seen))), "no frame lost or doubled"
            assert {r.source for r in readings} == {"probe-1"}
            assert {r.origin for r in readings} == {f"serial://{pair.device_end}"}
            assert driver.health()["probe-1"].available

        run_driver(driver, test)


def test_stx_etx_garbage_is_counted_and_never_fatal(tmp_path: Path) -> None:
    options = ("--protocol", "stx", "--interval", "0.02", "--garbage-every", "3")
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, *options):
        driver = SerialDriver(
            SerialSettings(str(pair.device_end)), "probe-1", StxEtxFramer(Checksum.XOR)
        )

        async def test(readings: list[Reading]) -> None:
            await until(lambda: len(counters(readings)) >= 12, "twelve whole frames")
            assert driver.health()["probe-1"].malformed >= 3
            # Every frame that got through is intact, never the corrupted one.
            assert all(counter(r) is not None for r in readings[1:])
            assert all(b"99.99" not in r.raw for r in readings)

        run_driver(driver, test)


def test_request_response_gets_one_answer_per_poll(tmp_path: Path) -> None:
    options = ("--protocol", "length", "--respond-to", "READ")
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, *options):
        driver = SerialPollingDriver(
            SerialSettings(str(pair.device_end)),
            "probe-1",
            LengthPrefixedFramer(1),
            b"READ",
            timeout=2.0,
        )

        async def main() -> list[Reading]:
            try:
                return [await driver.poll("probe-1") for _ in range(5)]
            finally:
                await driver.close()

        readings = asyncio.run(main())
    # The sensor only speaks when asked: its counter counts our polls.
    assert [counter(r) for r in readings] == [1, 2, 3, 4, 5]
    assert {r.origin for r in readings} == {f"serial://{pair.device_end}"}


def test_port_that_disappears_and_comes_back_is_recovered(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path).start()
    with serial_sensor(pair.peer_end, tmp_path, "--interval", "0.02"):
        driver = SerialDriver(
            SerialSettings(str(pair.device_end)), "probe-1", LineFramer(), backoff_max=0.2
        )
        health = driver.health()["probe-1"]

        async def test(readings: list[Reading]) -> None:
            try:
                await until(lambda: len(counters(readings)) >= 3, "frames before the cut")
                pair.stop()  # the cable is pulled: both ptys vanish
                await until(lambda: not health.available, "the driver to notice")
                before = len(readings)
                pair.start()  # plugged back in, same names
                await until(lambda: len(counters(readings[before:])) >= 3, "frames after")
                assert health.available and health.failures >= 1
                assert max(counters(readings[before:])) > max(counters(readings[:before]))
            finally:
                pair.stop()

        run_driver(driver, test)


def test_a_streaming_device_that_falls_silent_is_marked_unavailable(tmp_path: Path) -> None:
    # A sensor that only answers requests never speaks to a streaming reader.
    options = ("--respond-to", "READ")
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, *options):
        driver = SerialDriver(
            SerialSettings(str(pair.device_end)), "probe-1", LineFramer(), stale_after=0.2
        )
        health = driver.health()["probe-1"]

        async def test(readings: list[Reading]) -> None:
            await until(lambda: health.failures >= 2, "two silent periods")
            assert not health.available and readings == []
            assert health.last_error == "no frame for 0.2s"

        run_driver(driver, test)


def test_a_device_sending_only_noise_is_marked_unavailable(tmp_path: Path) -> None:
    """Regression: bytes that never frame kept a streaming device "available"."""
    with PtyPair(tmp_path) as pair:
        driver = SerialDriver(
            SerialSettings(str(pair.device_end)),
            "probe-1",
            LineFramer(max_length=64),
            stale_after=0.2,
        )
        health = driver.health()["probe-1"]
        noise = serial.Serial(str(pair.peer_end), timeout=1)

        async def test(readings: list[Reading]) -> None:
            async def babble() -> None:
                while True:  # ~100 bytes every 20 ms, never a newline
                    noise.write(bytes(range(32, 127))[:100])
                    await asyncio.sleep(0.02)

            babbling = asyncio.create_task(babble())
            try:
                await until(lambda: health.failures >= 1, "noise noticed as no frames")
            finally:
                babbling.cancel()
            assert not health.available and readings == []
            assert health.last_error is not None and "only noise" in health.last_error

        try:
            run_driver(driver, test)
        finally:
            noise.close()


def test_a_device_sending_only_malformed_frames_says_so_in_last_error(tmp_path: Path) -> None:
    """Regression: every frame malformed left ``last_error`` None; before any byte it is."""
    with PtyPair(tmp_path) as pair:
        driver = SerialDriver(
            SerialSettings(str(pair.device_end)), "probe-1", StxEtxFramer(Checksum.XOR)
        )
        health = driver.health()["probe-1"]
        device = serial.Serial(str(pair.peer_end), timeout=1)
        good = StxEtxFramer(Checksum.XOR).encode(b"1,20.10,41.0")
        bad_check = good[:-1] + bytes([good[-1] ^ 0xFF])

        async def test(readings: list[Reading]) -> None:
            await until(lambda: driver.port.is_open, "the port open")
            assert (health.last_error, health.reads, health.failures) == (None, 0, 0)
            device.write(bad_check * 3)
            await until(lambda: health.malformed >= 3, "three malformed frames counted")
            assert health.last_error == f"malformed frame (3 since start) on {pair.device_end}"
            assert not health.available and readings == []
            device.write(good)
            await until(lambda: len(readings) == 1, "a good frame")
            assert health.available and health.reads == 1

        try:
            run_driver(driver, test)
        finally:
            device.close()


def test_unanswered_and_garbled_polls_fail_and_the_next_poll_works(tmp_path: Path) -> None:
    # The sensor answers READ only, with junk before every 2nd answer's frame.
    options = ("--protocol", "stx", "--respond-to", "READ", "--garbage-every", "2")
    with PtyPair(tmp_path) as pair, serial_sensor(pair.peer_end, tmp_path, *options):
        settings = SerialSettings(str(pair.device_end))
        asking_wrong = SerialPollingDriver(
            settings, "probe-1", StxEtxFramer(Checksum.XOR), b"WHAT", timeout=0.1
        )
        asking_right = SerialPollingDriver(
            settings, "probe-1", StxEtxFramer(Checksum.XOR), b"READ", timeout=2.0
        )

        async def main() -> None:
            try:
                with pytest.raises(DeviceUnavailable, match=r"no answer within 0\.1s"):
                    await asking_wrong.poll("probe-1")
            finally:
                await asking_wrong.close()
            try:
                # Garbage ahead of a good frame costs nothing: the answer still counts.
                answers = [await asking_right.poll("probe-1") for _ in range(4)]
                assert [counter(r) for r in answers] == [1, 2, 3, 4]
            finally:
                await asking_right.close()

        asyncio.run(main())


def test_a_polled_port_that_vanishes_fails_the_poll_and_is_reopened(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path).start()
    try:
        with serial_sensor(pair.peer_end, tmp_path, "--respond-to", "READ") as sensor:
            driver = SerialPollingDriver(
                SerialSettings(str(pair.device_end)), "probe-1", LineFramer(), b"READ", timeout=2.0
            )

            def sensor_opened(times: int) -> bool:
                return sensor.log_path.read_text().count(f"open {pair.peer_end}") >= times

            async def main() -> None:
                try:
                    assert counter(await driver.poll("probe-1")) == 1
                    pair.stop()
                    with pytest.raises(DeviceUnavailable):
                        await driver.poll("probe-1")
                    pair.start()
                    await until(lambda: sensor_opened(2), "the sensor to reopen its end")
                    # The driver reopens its end on this poll, by itself.
                    assert counter(await driver.poll("probe-1")) == 2
                finally:
                    await driver.close()

            asyncio.run(main())
    finally:
        pair.stop()


def test_a_reply_that_never_frames_is_a_protocol_error(tmp_path: Path) -> None:
    # Answers of 12 bytes to a reader that allows 4: bytes came, no frame did.
    with (
        PtyPair(tmp_path) as pair,
        serial_sensor(pair.peer_end, tmp_path, "--respond-to", "READ"),
    ):
        driver = SerialPollingDriver(
            SerialSettings(str(pair.device_end)),
            "probe-1",
            LineFramer(max_length=4),
            b"READ",
            timeout=0.5,
        )

        async def main() -> None:
            try:
                with pytest.raises(DeviceProtocolError, match="malformed"):
                    await driver.poll("probe-1")
            finally:
                await driver.close()

        asyncio.run(main())
