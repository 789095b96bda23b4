"""``edgeward gateway status``: the running gateway's health as a readable table.

It reads the ``status.json`` the gateway rewrites every ``status_interval``
(never the outbox itself, so it can't disturb it), and says so plainly when
that snapshot is old: the gateway has stopped or hangs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from edgeward.gateway.config.loader import GatewayConfig
from edgeward.gateway.config.settings_state import read_state
from edgeward.gateway.health.devices import device_row
from edgeward.gateway.health.publisher import read_status
from edgeward.sync.clock import now_us

EXIT_OK = 0
EXIT_NO_STATUS = 1
EXIT_STALE = 3
# A snapshot older than this many status intervals (and 5 s) means no gateway is writing it.
STALE_INTERVALS = 3


def show_status(config: GatewayConfig, as_json: bool) -> int:
    try:
        status = read_status(config.data_dir)
    except (OSError, ValueError) as exc:
        print(f"no status from gateway {config.gateway_id} in {config.data_dir}: {exc}")
        print("is the gateway running? (edgeward gateway run --config ...)")
        return EXIT_NO_STATUS
    status["settings"] = read_state(config.data_dir)
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        print(render(status, now_us()))
    age = (now_us() - int(status["updated_us"])) / 1e6
    stale = age > max(5.0, STALE_INTERVALS * config.health.status_interval)
    if stale:
        print(f"STALE: last updated {_seconds(age)} ago; the gateway is not running or hangs")
        return EXIT_STALE
    return EXIT_OK


def render(status: dict[str, Any], now: int) -> str:
    outbox, uplink = status["outbox"], status["uplink"]
    # The snapshot's ages were true when it was written; age them to now.
    since = (now - int(status["updated_us"])) / 1e6
    oldest = outbox["oldest_unsent_age_s"]
    rows: list[tuple[str, str]] = [
        ("gateway", f"{status['gateway_id']} (pid {status['pid']})"),
        ("updated", _ago(status["updated_us"], now)),
        ("outbox depth", f"{outbox['depth']} readings ({outbox['queued']} queued in memory)"),
        (
            "backlog",
            f"{_bytes(outbox['backlog_bytes'])} of {_bytes(outbox['max_bytes'])} "
            f"({outbox['full_policy']}{', FULL' if outbox['full'] else ''})",
        ),
        ("oldest unsent", _maybe_seconds(None if oldest is None else oldest + since)),
        ("dropped", f"{outbox['dropped_total']} readings"),
        ("rejected", f"{outbox['rejected_total']} readings (set aside)"),
        ("moved aside", ", ".join(outbox["moved_aside"]) or "none"),
        ("send rate", f"{uplink['send_rate']:.1f} readings/s"),
        (
            "sent",
            f"{uplink['readings_sent_total']} readings in {uplink['batches_sent_total']} batches",
        ),
        ("last success", _ago(uplink["last_success_us"], now)),
        ("last error", _error(uplink, now)),
        ("metrics", status.get("metrics_url") or "off"),
        *_admission_rows(status.get("admission"), now),
        ("settings", _settings(status.get("settings"), now)),
    ]
    for source, device in sorted(status["devices"].items()):
        rows.append((f"device {source}", device_row(device)))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def _admission_rows(admission: dict[str, Any] | None, now: int) -> list[tuple[str, str]]:
    if admission is None:  # a status.json written before admission was wired
        return []
    registry = admission["registry"]
    if registry["sources"] is None:
        state = "NONE: every reading is refused (no-registry) until the first pull"
    else:
        state = f"{registry['version']} ({registry['sources']} sources)"
    error = registry["last_error"]
    refused = admission["refused_since_start"]
    reasons = ", ".join(f"{reason} {count}" for reason, count in refused.items()) or "none"
    stored = admission["refused_rows"]
    return [
        ("registry", state),
        ("registry verified", _ago(registry["verified_us"], now)),
        ("registry pull", f"FAILING: {error}" if error else "ok"),
        ("admitted", f"{admission['admitted_total']} readings since start"),
        ("ignored", f"{admission.get('ignored_total', 0)} frames the types pass over"),
        ("refused", f"{reasons} (since start)"),
        (
            "security events",
            f"{stored['rows']} window rows, {stored['unreported_rows']} not yet reported"
            + (" (reporting FAILING)" if admission["reporting_failing"] else ""),
        ),
    ]


def _settings(state: dict[str, Any] | None, now: int) -> str:
    """The remote settings version running, and the last one refused (with why)."""
    if not state:
        return "gateway.toml only"
    text = f"version {state['applied_version']} applied"
    if not state.get("remote"):
        text += " (remote settings waiting: no [cloud] public_key and none pinned yet)"
    elif state.get("last_pull_error"):
        text += f", pull FAILING: {state['last_pull_error']}"
    elif state.get("last_pull_us"):
        text += f", pulled {_ago(state['last_pull_us'], now)}"
    if state.get("refused_error"):
        refused = state.get("refused_version")
        which = f"version {refused}" if refused is not None else "a document"
        text += f"; REFUSED {which}: {state['refused_error']}"
    return text


def _error(uplink: dict[str, Any], now: int) -> str:
    if not uplink["last_error"]:
        return "none"
    state = "FAILING" if uplink["failing"] else "recovered"
    return f"{state}, {_ago(uplink['last_error_us'], now)}: {uplink['last_error']}"


def _ago(micros: int | None, now: int) -> str:
    if micros is None:
        return "never"
    moment = datetime.fromtimestamp(micros / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{_seconds((now - micros) / 1e6)} ago ({moment})"


def _maybe_seconds(seconds: float | None) -> str:
    return "nothing waiting" if seconds is None else _seconds(seconds)


def _seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def _bytes(count: int | None) -> str:
    if count is None:
        return "unbounded"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{count} B"
        size /= 1024
    return f"{count} B"


__all__ = ["render", "show_status"]
