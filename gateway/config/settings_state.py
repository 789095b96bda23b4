"""``settings-state.json``: which cloud settings version is in force, and the last refused.

The runtime's settings puller writes it; ``edgeward gateway status`` reads it.
It is read here, beside gateway.toml's parser, because it says which overlay
of gateway.toml is running, and so the status view reads it without
importing the runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATE_FILE = "settings-state.json"


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The settings state the gateway last wrote, for ``edgeward gateway status``."""
    try:
        loaded = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
