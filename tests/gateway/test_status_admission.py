"""`edgeward gateway status` on admission: the registry in force, or plainly none."""

from __future__ import annotations

from typing import Any

from edgeward.gateway.health.status_table import render

NOW = 1_764_128_460_000_000


def snapshot(registry: dict[str, Any], refused: dict[str, int]) -> dict[str, Any]:
    return {
        "gateway_id": "gw-1a2b3c4d5e6f",
        "pid": 1,
        "updated_us": NOW,
        "metrics_url": None,
        "outbox": {
            "depth": 0,
            "queued": 0,
            "backlog_bytes": 0,
            "max_bytes": None,
            "full_policy": "drop_oldest",
            "full": False,
            "oldest_unsent_age_s": None,
            "dropped_total": 0,
            "rejected_total": 0,
            "moved_aside": [],
        },
        "uplink": {
            "send_rate": 0.0,
            "readings_sent_total": 0,
            "batches_sent_total": 0,
            "last_success_us": None,
            "last_error": None,
        },
        "admission": {
            "registry": registry,
            "admitted_total": 3,
            "refused_since_start": refused,
            "refused_rows": {"by_reason": refused, "rows": 1, "unreported_rows": 1},
            "reporting_failing": True,
        },
        "devices": {},
    }


def test_no_registry_is_said_plainly() -> None:
    registry = {"version": None, "sources": None, "verified_us": None, "age_s": None}
    shown = render(
        snapshot({**registry, "last_error": "cloud unreachable"}, {"no-registry": 9}), NOW
    )
    assert "NONE: every reading is refused" in shown
    assert "FAILING: cloud unreachable" in shown
    assert "no-registry 9" in shown and "reporting FAILING" in shown


def test_the_registry_in_force_and_its_age() -> None:
    registry = {
        "version": '"abc"',
        "sources": 4,
        "verified_us": NOW - 90_000_000,
        "age_s": 90.0,
        "last_error": None,
    }
    shown = render(snapshot(registry, {"replay": 2, "unknown-source": 5}), NOW)
    assert '"abc" (4 sources)' in shown and "90.0s ago" in shown
    assert "replay 2, unknown-source 5 (since start)" in shown
    assert "3 readings since start" in shown
