"""What the installer sees: one line per step, ✓ or ✗, with a counter for progress."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from edgeward.provisioning.errors import ProvisioningError


class Steps:
    def __init__(self, total: int, out: TextIO = sys.stdout) -> None:
        self.total = total
        self.number = 0
        self.out = out

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Yields a list the step appends its result text to; prints ✓ or ✗ at the end."""
        self.number += 1
        prefix = f"[{self.number}/{self.total}]"
        print(f"{prefix} … {title}", file=self.out, flush=True)
        result: list[str] = []
        try:
            yield result
        except ProvisioningError as exc:
            print(f"{prefix} ✗ {title}: {exc.message}", file=self.out, flush=True)
            if exc.hint:
                print(f"      what to check: {exc.hint}", file=self.out, flush=True)
            raise
        print(f"{prefix} ✓ {'; '.join(result) or title}", file=self.out, flush=True)

    def progress(self) -> None:
        print("      … still waiting", file=self.out, flush=True)
