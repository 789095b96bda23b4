"""One way for the outbox tests to open a real outbox file, run a test on it
and close it again, whatever the test raised."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from edgeward.gateway.outbox.store import Outbox

T = TypeVar("T")


def with_outbox(path: Path, test: Callable[[Outbox], Awaitable[T]], **options: Any) -> T:
    """``test``'s result on the outbox at ``path`` opened with ``options``."""

    async def main() -> T:
        outbox = Outbox(path, **options)
        await outbox.open()
        try:
            return await test(outbox)
        finally:
            await outbox.close()

    return asyncio.run(main())
