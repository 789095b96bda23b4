"""A real pymodbus TCP server on its own thread and event loop, for tests that
need to change register values while another process polls them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from edgeward.drivers.simulators.modbus_server import RegisterBankServer


class ModbusServerThread:
    def __init__(
        self,
        units: Iterable[int],
        *,
        max_registers: int | None = None,
        undefined: Iterable[range] = (),
        separate_input: bool = False,
    ) -> None:
        """``max_registers`` and ``undefined`` make a picky meter; ``separate_input`` gives
        input registers their own bank (see RegisterBankServer)."""
        self.server = RegisterBankServer(
            units,
            max_registers=max_registers,
            undefined=undefined,
            separate_input=separate_input,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> ModbusServerThread:
        self._thread.start()
        self._call(self.server.start)
        return self

    def stop(self) -> None:
        self._call(self.server.stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def update(self, change: Callable[[RegisterBankServer], None]) -> None:
        """Apply ``change`` on the server's loop, between two requests, never during one.

        A float32 spans two registers; writing them from the test thread
        could let a poll see one new and one old word.
        """

        async def apply() -> None:
            change(self.server)

        self._call(apply)

    def _call(self, coroutine_function: Callable[[], object]) -> None:
        future = asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop)  # type: ignore[arg-type]
        future.result(timeout=10)

    def __enter__(self) -> ModbusServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
