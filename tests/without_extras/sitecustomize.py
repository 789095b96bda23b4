"""Makes a Python process run as if only ``pip install edgeward`` were installed.

On PYTHONPATH, Python imports this module at start-up. It refuses every
top-level module named in ``EDGEWARD_REFUSE`` (comma-separated) as missing,
the way a base install lacks them, and appends each refused name to
``EDGEWARD_REFUSED_LOG``, so a test sees what the program tried to import.
A library's optional import (httpx tries click and rich for its command
line) then fails as it would on the appliance. At a clean exit it writes
the names of every module the process holds to ``EDGEWARD_MODULES_LOG``.
"""

from __future__ import annotations

import atexit
import importlib.abc
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

REFUSED = frozenset(filter(None, os.environ.get("EDGEWARD_REFUSE", "").split(",")))
LOG = os.environ.get("EDGEWARD_REFUSED_LOG")
MODULES_LOG = os.environ.get("EDGEWARD_MODULES_LOG")


class RefuseBeyondTheBase(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in REFUSED:
            return None
        if LOG:
            with open(LOG, "a") as log:
                log.write(fullname + "\n")
        raise ModuleNotFoundError(f"No module named {fullname!r} (refused)", name=fullname)


already = sorted(REFUSED.intersection(name.partition(".")[0] for name in sys.modules))
if already:  # loaded before this ran (a .pth file): the test would prove nothing
    raise SystemExit(f"sitecustomize: already imported: {already}")
sys.meta_path.insert(0, RefuseBeyondTheBase())


def _write_modules() -> None:
    if MODULES_LOG:
        with open(MODULES_LOG, "w") as log:
            log.write("\n".join(sorted(sys.modules)) + "\n")


atexit.register(_write_modules)
