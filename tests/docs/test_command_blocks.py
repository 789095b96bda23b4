"""Every command and JSON example in the README and docs/ is one the programs accept.

Nothing here runs a command: ``edgeward`` lines go through the real CLI's
argument parser, ``edgeward-update`` lines through the updater's, ``make``
lines against the Makefile's targets, and ``curl`` lines against the cloud
app's routes and request models. JSON blocks parse, and those marked with
``<!-- request: METHOD /path -->`` validate against that route's model.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import re
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from edgeward.cli import build_parser, chosen_subcommand
from edgeward.cloud.api.app import api_routes, create_app
from edgeward.cloud.config.settings import CloudSettings
from edgeward.sync.claim_codes import normalize
from edgeward.sync.remote_settings import SettingsError, validate_overlay
from tests.docs.pages import ROOT, Block, blocks

# Programs the docs may name without a parser here: system tools whose lines
# show an operator what to type (the hub's interface, the image's services,
# the serial cable's stand-in) and which can't run without root and side effects.
SYSTEM_PROGRAMS = {"systemctl", "ip", "wg", "socat", "export"}
LANGUAGES = {"sh", "toml", "json", "text"}
SETTINGS_ROUTE = ("PUT", "/v1/gateways/{gateway_id}/settings")


def commands(block: Block) -> Iterator[list[str]]:
    """The block's commands as argument lists: continuation lines joined, comments
    dropped, ``a && b`` split, leading ``NAME=value`` assignments dropped."""
    joined = re.sub(r"\\\n", " ", block.text)
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            command, words = words[:end], words[end + 1 :]
            while command and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", command[0]):
                command = command[1:]
            if command:
                yield command


def parse_or_fail(parser: argparse.ArgumentParser, argv: list[str], where: str) -> None:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            arguments = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{where}: {shlex.join(argv)!r} refused: {errors.getvalue().strip()}")
    if (claim := getattr(arguments, "claim", None)) is not None:
        normalize(claim)  # a typo in the example code raises ClaimCodeTypo


def updater_parser() -> argparse.ArgumentParser:
    spec = importlib.util.spec_from_file_location(
        "edgeward_update", ROOT / "image/edgeward_update.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while it loads.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    parser: argparse.ArgumentParser = module.build_parser()
    return parser


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[APIRoute]:
    directory = tmp_path_factory.mktemp("cloud")
    settings = CloudSettings(
        data_dir=directory, db_url=f"sqlite:///{directory / 'cloud.db'}", pepper=bytes(32)
    )
    app = create_app(settings, migrate=False)
    try:
        return api_routes(app)
    finally:
        app.state.database.dispose()


def route_for(routes: list[APIRoute], method: str, path: str, *, template: bool) -> APIRoute:
    for route in routes:
        served = route.path == path if template else route.path_regex.match(path)
        if served and method in route.methods:
            return route
    raise AssertionError(f"the cloud serves no {method} {path}")


def check_body(route: APIRoute, method: str, body: Any, where: str) -> None:
    """``body`` validates against the route's request model, as the app would."""
    parameters = route.dependant.body_params
    assert parameters, f"{where}: {method} {route.path} takes no JSON body"
    TypeAdapter(parameters[0].field_info.annotation).validate_python(body)
    if (method, route.path) == SETTINGS_ROUTE:
        validate_overlay(body["settings"])  # the gateway's own rules for an overlay


def check_curl(argv: list[str], routes: list[APIRoute], where: str) -> None:
    method, url, data = None, None, None
    words = iter(argv[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            next(words)
        elif word == "-d":
            data = next(words)
        elif word.startswith("http"):
            url = word
        else:
            raise AssertionError(f"{where}: curl option {word!r} is not one this test reads")
    assert url is not None, f"{where}: curl without a URL"
    method = method or ("POST" if data is not None else "GET")
    route = route_for(routes, method, urlsplit(url).path, template=False)
    if data is not None:
        check_body(route, method, json.loads(data), where)


def test_every_fence_names_a_language_this_suite_checks() -> None:
    unknown = [f"{b.where()} ```{b.language}" for b in blocks() if b.language not in LANGUAGES]
    assert unknown == [], "label output ```text; other languages need a check here"


def test_every_command_is_accepted_by_its_program(routes: list[APIRoute]) -> None:
    updater, targets = updater_parser(), make_targets()
    checks: dict[str, Callable[[list[str], str], None]] = {
        "edgeward": lambda argv, where: parse_edgeward(argv[1:], where),
        "edgeward-update": lambda argv, where: parse_or_fail(updater, argv[1:], where),
        "make": lambda argv, where: check_make(argv, targets, where),
        "curl": lambda argv, where: check_curl(argv, routes, where),
    }
    checked: Counter[str] = Counter()
    for block in blocks("sh"):
        found = list(commands(block))
        assert found, f"{block.where()}: a sh block without a command"
        for argv in found:
            program = argv[0]
            if program in SYSTEM_PROGRAMS:
                checked[program] += 1
                continue
            assert program in checks, f"{block.where()}: no check for {program!r}"
            checks[program](argv, block.where())
            checked[program] += 1
    # The counts keep the test from passing by finding nothing.
    assert checked["edgeward"] >= 25
    assert checked["curl"] >= 3
    assert checked["make"] >= 4
    assert checked["edgeward-update"] >= 3


def parse_edgeward(argv: list[str], where: str) -> None:
    """The CLI builds the full parser of the chosen subcommand only (the others
    are named, not imported), so each command line gets its subcommand's."""
    parse_or_fail(build_parser(chosen_subcommand(argv)), argv, where)


def check_make(argv: list[str], targets: set[str], where: str) -> None:
    for word in argv[1:]:
        name, assigned, value = word.partition("=")
        if not assigned:
            assert name in targets, f"{where}: the Makefile has no target {name!r}"
        elif name == "DEMO_ARGS":
            parse_edgeward(["demo", *shlex.split(value)], where)
        else:
            raise AssertionError(f"{where}: the Makefile reads no {name}")


def test_json_examples_parse_and_marked_ones_are_valid_requests(routes: list[APIRoute]) -> None:
    examples = blocks("json")
    assert examples, "the directory and remote settings examples"
    marked = 0
    for block in examples:
        body = json.loads(block.text)
        if block.request is not None:
            method, path = block.request
            route = route_for(routes, method, path, template=True)
            check_body(route, method, body, block.where())
            marked += 1
    assert marked >= 2


def test_a_wrong_flag_or_body_would_fail_these_checks(routes: list[APIRoute]) -> None:
    """The checks refuse what the programs refuse, so a stale example fails."""
    with pytest.raises(pytest.fail.Exception, match="--claim-code"):
        parse_edgeward(["provision", "--claim-code", "X"], "example")
    with pytest.raises(ValueError, match="typo"):
        parse_edgeward(["provision", "--claim", "7KQ2M-XD41P-R"], "example")
    with pytest.raises(AssertionError, match="serves no GET /v1/reading"):
        check_curl(["curl", "https://cloud.example/v1/reading"], routes, "example")
    with pytest.raises(ValueError, match="grants"):
        check_curl(
            ["curl", "-d", '{"name": "x"}', "https://cloud.example/v1/applications"],
            routes,
            "example",
        )
    settings = route_for(routes, *SETTINGS_ROUTE, template=True)
    with pytest.raises(SettingsError, match="batch_max_readings"):
        check_body(settings, "PUT", {"settings": {"uplink": {"batch_max_readings": 0}}}, "x")


def test_commands_split_as_a_shell_would() -> None:
    block = Block(
        Path("x.md"),
        1,
        "sh",
        "A=1 B='2 3' edgeward gateway run  # comment\nip a && ip b \\\n  c\n    # only a comment\n",
        None,
    )
    assert list(commands(block)) == [["edgeward", "gateway", "run"], ["ip", "a"], ["ip", "b", "c"]]
