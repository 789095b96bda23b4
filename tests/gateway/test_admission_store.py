"""The admission store: replay counters that outlive a restart, and refusal rows whose
number a flood can't grow."""

from __future__ import annotations

import stat
from collections import Counter
from pathlib import Path

import pytest

from edgeward.gateway.admission import store as admission_store
from edgeward.gateway.admission.store import (
    MAX_KEYS_PER_WINDOW,
    OVERFLOW,
    WINDOW_US,
    AdmissionStore,
)

NOW = 1_764_128_460_000_000 - 1_764_128_460_000_000 % WINDOW_US


def test_replay_counters_survive_a_reopen_and_never_go_back(tmp_path: Path) -> None:
    store = AdmissionStore(tmp_path / "admission.db")
    store.advance("probe-h", 7)
    store.advance("probe-h", 3)
    store.close()
    again = AdmissionStore(tmp_path / "admission.db")
    assert (again.last("probe-h"), again.last("other")) == (7, 0)
    assert stat.S_IMODE((tmp_path / "admission.db").stat().st_mode) == 0o600


def test_a_window_keeps_running_counts_and_reports_growth_again(tmp_path: Path) -> None:
    store = AdmissionStore(tmp_path / "admission.db")
    store.record(Counter({("meter-9", "unknown-source"): 5}), NOW)
    store.record(Counter({("meter-9", "unknown-source"): 2}), NOW + 1000)
    (row,) = store.unreported()
    assert (row["count"], row["first_us"], row["last_us"]) == (7, NOW, NOW + 1000)
    store.mark_reported({row["id"]: 7})
    assert store.unreported() == []
    store.record(Counter({("meter-9", "unknown-source"): 1}), NOW + 2000)
    (grown,) = store.unreported()
    assert (grown["id"], grown["count"]) == (row["id"], 8), "same row, new total"
    store.record(Counter({("meter-9", "unknown-source"): 1}), NOW + WINDOW_US)
    assert len(store.unreported()) == 2, "the next window is a row of its own"


def test_many_identities_in_one_window_fold_into_an_overflow_row(tmp_path: Path) -> None:
    store = AdmissionStore(tmp_path / "admission.db")
    flood = Counter({(f"rogue-{n}", "unknown-source"): 1 for n in range(10_000)})
    store.record(flood, NOW)
    rows = store.unreported(limit=10_000)
    assert len(rows) == MAX_KEYS_PER_WINDOW
    assert sum(row["count"] for row in rows) == 10_000, "nothing is lost, only folded"
    (overflow,) = [row for row in rows if (row["source"], row["reason"]) == OVERFLOW]
    assert overflow["count"] == 10_000 - (MAX_KEYS_PER_WINDOW - 1)


def test_the_store_prunes_reported_rows_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admission_store, "MAX_ROWS", 3)
    store = AdmissionStore(tmp_path / "admission.db")
    for window in range(3):
        store.record(Counter({("meter-9", "unknown-source"): 1}), NOW + window * WINDOW_US)
    reported = store.unreported()[1]
    store.mark_reported({reported["id"]: reported["count"]})
    store.record(Counter({("meter-9", "unknown-source"): 1}), NOW + 3 * WINDOW_US)
    left = store.unreported()
    assert len(left) == 3 and reported["id"] not in {row["id"] for row in left}
    assert store.totals()["rows"] == 3
