from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def batch_body(gateway_id: str, source: str, seqs: range | list[int], **overrides: Any) -> bytes:
    document = {
        "format": "edgeward.batch",
        "version": 1,
        "gateway_id": gateway_id,
        "readings": [
            {
                "seq": seq,
                "source": source,
                "time": (START + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "values": {"power": seq * 1.5, "count": seq},
            }
            for seq in seqs
        ],
    }
    document.update(overrides)
    return json.dumps(document).encode()
