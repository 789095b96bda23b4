"""The gateway role runs on ``pip install edgeward`` alone, without the cloud's libraries.

The gateway programs here run with ``tests/without_extras`` on PYTHONPATH: its
sitecustomize refuses, as missing, every module that only the extras (or the
test tools) install, records what the program tried, and lists at exit what
the process loaded. The cloud they talk to is the real one, in its own
process with its libraries.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgeward.cli import SUBCOMMANDS, build_parser
from edgeward.harness.processes import ChildProcess
from tests import roles
from tests.peers.cloud import CloudServer
from tests.peers.gateway import write_gateway_config
from tests.peers.modbus import ModbusServerThread

WITHOUT_EXTRAS = Path(__file__).resolve().parent / "without_extras"
# Code of the gateway role: what the base install must be enough for.
BASE_ROLE = ("gateway", "drivers", "sync", "provisioning", "edgeward/harness")
NOT_BASE = {"drivers/simulators/ble_peripheral.py"}  # edgeward[simulators]
# Modules outside any distribution's top level: the program, the hook above,
# cryptography's Rust bindings (they register themselves under this name); and
# the finder of an editable install (__editable___edgeward_<version>_finder).
UNPACKAGED = {"__main__", "sitecustomize", "_openssl"}
REGISTERS = [{"name": "energy", "address": 0, "type": "uint32"}]


def base_only(tmp_path: Path) -> dict[str, str]:
    """The environment that makes a Python child see only what a base install has."""
    refused = roles.beyond_the_base()
    assert refused >= roles.CLOUD_LIBRARIES, "the cloud's libraries are beyond the base"
    return {
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(WITHOUT_EXTRAS), os.environ.get("PYTHONPATH")])
        ),
        "EDGEWARD_REFUSE": ",".join(sorted(refused)),
        "EDGEWARD_REFUSED_LOG": str(tmp_path / "refused.log"),
        "EDGEWARD_MODULES_LOG": str(tmp_path / "modules.log"),
    }


def refused_attempts(tmp_path: Path) -> set[str]:
    log = tmp_path / "refused.log"
    return set(log.read_text().split()) if log.exists() else set()


def top_level(names: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in names}


def base_role_modules() -> list[str]:
    found = ["edgeward.cli"]
    for part in BASE_ROLE:
        for path in sorted((roles.REPOSITORY / part).rglob("*.py")):
            relative = path.relative_to(roles.REPOSITORY)
            if relative.as_posix() in NOT_BASE:
                continue
            dotted = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            found.append(dotted if dotted.startswith("edgeward.") else f"edgeward.{dotted}")
    return found


def test_every_module_of_the_gateway_role_imports_on_the_base_install(tmp_path: Path) -> None:
    modules = base_role_modules()
    assert {"edgeward.gateway.runtime.service", "edgeward.provisioning.installer"} <= set(modules)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)",
            *modules,
        ],
        env={**os.environ, **base_only(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tried = top_level(refused_attempts(tmp_path))
    assert not tried & roles.CLOUD_LIBRARIES, f"the gateway role tried {tried}"


def test_the_running_gateway_loads_none_of_the_cloud_libraries(tmp_path: Path) -> None:
    """The real ``edgeward gateway run`` reads a Modbus meter and its readings reach
    the real cloud, with every library beyond the base refused; at its clean stop it
    holds only modules of the standard library, Edgeward and the base install."""
    env = base_only(tmp_path)
    cloud = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}").start()
    try:
        gateway = cloud.add_gateway(sources=["meter-1"])
        token = cloud.token_with("readings:GET")
        with ModbusServerThread([1]) as modbus:
            modbus.update(lambda server: server.write_uint32(1, 0, 4_000_000_123))
            devices = [
                {"source": "meter-1", "unit": 1, "poll_interval": 0.1, "registers": REGISTERS}
            ]
            config = write_gateway_config(tmp_path, cloud, gateway, modbus.port, devices)
            log = config.parent / "gateway.log"
            with ChildProcess(
                "gateway", ["gateway", "run", "--config", str(config)], log, env=env
            ) as process:
                process.wait_for(
                    lambda: any(
                        r["values"]["energy"] == 4_000_000_123
                        for r in cloud.all_readings(token, "meter-1")
                    ),
                    "meter-1's reading in the cloud",
                )
            assert process.process is not None and process.process.returncode == 0
    finally:
        cloud.stop()

    loaded = set((tmp_path / "modules.log").read_text().split())
    assert loaded >= {"edgeward.gateway.runtime.service", "pymodbus", "httpx", "cryptography"}
    others = top_level(loaded) - roles.base_modules() - UNPACKAGED
    assert {name for name in others if not name.startswith("__editable___edgeward_")} == set()
    tried = top_level(refused_attempts(tmp_path))
    assert not tried & roles.CLOUD_LIBRARIES, f"the gateway tried {tried}"


@pytest.mark.parametrize(
    ("argv", "extra", "what"),
    [
        (["cloud", "serve", "--port", "0"], "cloud", "the cloud role"),
        (["cloud", "admin", "--help"], "cloud", "the cloud role"),
        (["demo", "--seconds", "1"], "demo", "the demo"),
    ],
)
def test_a_subcommand_without_its_extra_names_the_extra(
    tmp_path: Path, argv: list[str], extra: str, what: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edgeward", *argv],
        env={**os.environ, **base_only(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    pattern = (
        rf"edgeward: {what} is not installed \(no module named '(\w+)'\): "
        rf"pip install 'edgeward\[{extra}\]'\n"
    )
    found = re.fullmatch(pattern, done.stderr)
    assert (done.returncode, bool(found)) == (2, True), done.stderr
    assert found is not None and found[1] in refused_attempts(tmp_path)


def test_the_top_level_help_lists_each_subcommand_as_its_part_does() -> None:
    """Only the chosen subcommand's part is imported; the others are listed from the
    table in edgeward.cli, which must say what each part's own parser says."""
    for name, subcommand in SUBCOMMANDS.items():
        parser = build_parser(name)
        choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {action.dest: action.help for action in choices._choices_actions}
        assert helps[name] == subcommand.help
