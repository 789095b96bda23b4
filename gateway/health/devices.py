"""Each device's state, one rule for status.json, ``edgeward gateway status`` and the metrics.

A device is more than reachable or not. Its readings may all be refused by
admission (the type does not decode what it sends), or it may not have said
anything yet. The states (documented in docs/operators/gateway.md, Status):

* ``up``: it answers and its latest reading was admitted;
* ``refused``: it answers, but its latest reading(s) were refused; the
  detail names the reason and, where a decoder named them, the field and a
  short rendering of its value (``undecodable: field temperature = 'warm'``);
* ``down``: it does not answer, or sends only garbage; the detail is its
  last error (``malformed frame ...`` for a serial line of noise);
* ``waiting``: nothing delivered and nothing failed yet: "waiting for first
  poll" (polled devices) or "waiting for data" (serial streams, MQTT, BLE).

A device both failing and refused shows as down: reaching it comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgeward.drivers.base import DeviceHealth

UP, REFUSED, DOWN, WAITING = "up", "refused", "down", "waiting"
STATES = (UP, REFUSED, DOWN, WAITING)


def device_state(health: DeviceHealth) -> tuple[str, str | None]:
    """(state, what to show beside it) of one device now."""
    if not health.available and (health.failures or health.last_error):
        return DOWN, health.last_error or "unavailable"
    if health.refused and health.last_refusal is not None:
        return REFUSED, health.last_refusal.summary()
    if health.reads == 0:
        waiting = "waiting for first poll" if health.polled else "waiting for data"
        if health.last_error:
            waiting += f" (last error: {health.last_error})"
        return WAITING, waiting
    if not health.available:
        return DOWN, "unavailable"
    return UP, None


def device_snapshot(health: DeviceHealth) -> dict[str, Any]:
    """One device in status.json."""
    state, detail = device_state(health)
    refusal = health.last_refusal
    return {
        "state": state,
        "detail": detail,
        "available": health.available,
        "reads": health.reads,
        "failures": health.failures,
        "last_error": health.last_error,
        "malformed": health.malformed,
        "refused": health.refused,
        "last_refusal": None
        if refusal is None
        else {
            "reason": refusal.reason,
            "detail": refusal.detail,
            "field": refusal.field,
            "value": refusal.value,
        },
    }


def device_row(device: dict[str, Any]) -> str:
    """The status table's text for one device of status.json."""
    reads = f"{device['reads']} reads"
    state = device.get("state")
    if state is None:  # a status.json from before device states
        return f"{'up' if device['available'] else 'DOWN'} ({reads})"
    if state == UP:
        return f"up ({reads})"
    if state == WAITING:
        return str(device["detail"])
    if state == REFUSED:
        return f"REFUSED: {device['detail']} ({device['refused']} in a row; {reads})"
    return f"{state.upper()}: {device['detail']} ({reads})"


def device_metrics(devices: dict[str, dict[str, Any]], label: Callable[[str], str]) -> list[str]:
    """The devices' lines of the Prometheus exposition; ``label`` escapes a label value."""
    lines = [
        "# HELP edgeward_device_up 1 if the device answered and its latest reading got in.",
        "# TYPE edgeward_device_up gauge",
    ]
    for source, device in sorted(devices.items()):
        up = device.get("state", UP if device["available"] else DOWN) == UP
        lines.append(f'edgeward_device_up{{source="{label(source)}"}} {int(up)}')
    lines += [
        "# HELP edgeward_device_state 1 for the device's state (up, refused, down, waiting).",
        "# TYPE edgeward_device_state gauge",
    ]
    for source, device in sorted(devices.items()):
        for state in STATES:
            value = int(device.get("state") == state)
            lines.append(
                f'edgeward_device_state{{source="{label(source)}",state="{state}"}} {value}'
            )
    lines += [
        "# HELP edgeward_device_refused_readings Readings refused in a row, by the latest "
        "refusal's reason and field.",
        "# TYPE edgeward_device_refused_readings gauge",
    ]
    for source, device in sorted(devices.items()):
        refusal = device.get("last_refusal")
        if refusal is None:
            continue
        labels = (
            f'source="{label(source)}",reason="{label(refusal["reason"])}",'
            f'field="{label(refusal["field"] or "")}"'
        )
        lines.append(f"edgeward_device_refused_readings{{{labels}}} {device['refused']}")
    return lines
