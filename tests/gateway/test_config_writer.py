"""dump_toml round-trips through tomllib; write_secret writes mode 0600 files."""

from __future__ import annotations

import math
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgeward.gateway.config.toml_writer import dump_toml, write_secret


def round_trip(document: dict[str, Any]) -> dict[str, Any]:
    return tomllib.loads(dump_toml(document))


def test_nested_tables_round_trip() -> None:
    document = {
        "title": "gateway",
        "gateway": {"id": "gw-1", "data_dir": "data"},
        "a": {"b": {"c": {"d": 1, "e": "deep"}, "x": True}, "y": 2.5},
        "empty": {},
    }
    assert round_trip(document) == document


def test_scalars_after_a_nested_table_stay_in_their_own_table() -> None:
    # Key order puts a scalar after a subtable: it must not land inside the subtable.
    document = {"outer": {"inner": {"a": 1}, "after": 2}, "last": "top"}
    assert round_trip(document) == document


def test_gateway_shaped_document_round_trips() -> None:
    document = {
        "gateway": {"id": "gw-1a2b3c4d5e6f", "data_dir": "/var/lib/edgeward"},
        "cloud": {"url": "https://cloud.example", "credential_file": "credential"},
        "uplink": {"batch_max_readings": 500, "idle_interval": 0.05},
        "modbus_tcp": [
            {
                "host": "127.0.0.1",
                "port": 5020,
                "devices": [
                    {
                        "source": "meter-1",
                        "unit": 1,
                        "registers": [
                            {"name": "voltage", "address": 0, "type": "float32"},
                            {"name": "energy", "address": 6, "type": "uint32", "scale": 0.01},
                        ],
                    },
                    {
                        "source": "meter-2",
                        "unit": 2,
                        "registers": [{"name": "f", "address": 8, "table": "input"}],
                    },
                ],
            },
            {"host": "10.0.0.2", "devices": [{"source": "m3", "unit": 3, "registers": []}]},
        ],
    }
    text = dump_toml(document)
    assert tomllib.loads(text) == document
    assert "[[modbus_tcp]]" in text
    assert "[[modbus_tcp.devices]]" in text


def test_arrays_of_tables_with_nested_inline_tables_round_trip() -> None:
    document = {
        "points": [
            {"name": "a", "meta": {"unit": "V", "limits": {"low": 0, "high": 400}}},
            {"name": "b", "meta": {"unit": "A", "limits": {"low": -1.5, "high": 1.5}}},
        ],
        "pairs": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
        "nested_lists": [[{"a": 1}], [{"a": 2}, {"b": {"c": 3}}]],
        "mixed": [{"inline": {"deep": {"deeper": "yes"}}}],
    }
    assert round_trip(document) == document


def test_every_array_of_tables_is_written_as_sections_after_the_top_level_keys() -> None:
    """Regression (issue 16): an array of scalar-only tables was written inline,
    ``serial = [{...}]``, among the top-level keys, so above [gateway]."""
    document = {
        "gateway": {"id": "gw-1"},
        "serial": [{"port": "/dev/ttyS0", "source": "probe-1"}],
        "modbus_tcp": [{"host": "h", "devices": [{"source": "m1", "unit": 1}]}],
    }
    assert dump_toml(document) == (
        '[gateway]\nid = "gw-1"\n\n[[serial]]\nport = "/dev/ttyS0"\nsource = "probe-1"\n\n'
        '[[modbus_tcp]]\nhost = "h"\n\n[[modbus_tcp.devices]]\nsource = "m1"\nunit = 1\n'
    )


@pytest.mark.parametrize(
    "text",
    [
        'say "hello"',
        "back\\slash and C:\\path\\to\\file",
        "line one\nline two\r\nline three",
        "tab\tand\bbackspace\fformfeed",
        "control \x00 \x01 \x1f \x7f",
        "trailing backslash \\",
        '"""',
        "'single' and ''' triple",
        "# not a comment",
        "key = value",
        "[not.a.table]",
        "café, Grüße, 東京",
        "",
        " leading and trailing spaces ",
    ],
)
def test_strings_round_trip(text: str) -> None:
    assert round_trip({"s": text, "t": {"s": text}, "a": [text, text]}) == {
        "s": text,
        "t": {"s": text},
        "a": [text, text],
    }


@pytest.mark.parametrize("text", ["meter \U0001f50c", "\U0001d11e clef", "\U0010ffff"])
def test_strings_outside_the_basic_multilingual_plane_round_trip(text: str) -> None:
    # TOML's \uXXXX escapes must be Unicode scalar values, so a surrogate pair is
    # not a valid way to write these characters.
    assert round_trip({"s": text}) == {"s": text}


@pytest.mark.parametrize(
    "key",
    ["with space", "dotted.key", "", 'quote"d', "é", "1", "a-b_c", "=", "[x]"],
)
def test_keys_that_need_quoting_round_trip(key: str) -> None:
    document = {key: 1, "table": {key: "v"}, "list": [{key: {"k": 2}}]}
    assert round_trip(document) == document


@pytest.mark.parametrize(
    "number",
    [0.0, -0.0, 0.1, 1.5, -2.25, 1e-05, 1e16, 1.7976931348623157e308, 5e-324, 49.98, 1 / 3],
)
def test_floats_round_trip_exactly(number: float) -> None:
    loaded = round_trip({"f": number, "l": [number]})
    assert loaded["f"] == number
    assert type(loaded["f"]) is float
    assert math.copysign(1.0, loaded["f"]) == math.copysign(1.0, number)
    assert loaded["l"] == [number]


def test_non_finite_floats_round_trip() -> None:
    loaded = round_trip({"pos": math.inf, "neg": -math.inf, "nan": math.nan})
    assert loaded["pos"] == math.inf
    assert loaded["neg"] == -math.inf
    assert math.isnan(loaded["nan"])


def test_integers_and_bools_keep_their_types() -> None:
    document = {
        "zero": 0,
        "big": 2**63 - 1,
        "negative": -(2**63),
        "yes": True,
        "no": False,
        "flags": [True, False],
        "t": {"on": True, "count": 3},
    }
    loaded = round_trip(document)
    assert loaded == document
    assert loaded["yes"] is True and loaded["no"] is False
    assert type(loaded["zero"]) is int


def test_empty_list_and_path_values() -> None:
    loaded = round_trip({"empty": [], "where": Path("/var/lib/edgeward"), "rel": Path("data")})
    assert loaded == {"empty": [], "where": "/var/lib/edgeward", "rel": "data"}


@pytest.mark.parametrize("value", [None, object(), b"bytes", {1, 2}])
def test_values_toml_cannot_hold_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        dump_toml({"v": value})


# --- write_secret --------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that lets everyone read: write_secret must not rely on the umask."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_write_secret_creates_a_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "edgeward" / "credential"
    write_secret(path, "ewg_secret")
    assert mode(path) == 0o600
    assert path.read_text() == "ewg_secret\n"


@pytest.mark.usefixtures("permissive_umask")
def test_write_secret_resets_an_existing_0644_file(tmp_path: Path) -> None:
    path = tmp_path / "credential"
    path.write_text("an old and much longer credential that must disappear entirely\n")
    os.chmod(path, 0o644)
    write_secret(path, "ewg_new")
    assert mode(path) == 0o600
    assert path.read_text() == "ewg_new\n"


@pytest.mark.usefixtures("permissive_umask")
def test_write_secret_never_writes_into_a_readable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "mode 0600 from its first byte on": check the mode at the moment of writing.
    path = tmp_path / "credential"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    modes_while_writing: list[int] = []
    real_fdopen = os.fdopen

    def watching_fdopen(descriptor: int, *args: Any, **kwargs: Any) -> Any:
        modes_while_writing.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return real_fdopen(descriptor, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", watching_fdopen)
    write_secret(path, "ewg_new")
    assert modes_while_writing == [0o600]
    assert mode(path) == 0o600
