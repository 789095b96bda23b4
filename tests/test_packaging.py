"""The wheel installs the parts under edgeward.* and nothing at the top level, and
``pip install edgeward`` brings the gateway role's libraries only."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import roles

REPOSITORY = Path(__file__).resolve().parent.parent
PARTS = ("gateway", "drivers", "sync", "provisioning", "cloud")
# The distributions that bring the cloud's libraries (here module and
# distribution names agree).
CLOUD_DISTRIBUTIONS = roles.CLOUD_LIBRARIES - {"bumble"}
# Where code lives, and the extras its imports may need (the most specific path wins).
ROLE_OF_PATH = {
    "gateway": (),
    "drivers": (),
    "sync": (),
    "provisioning": (),
    "edgeward": (),
    "drivers/simulators/ble_peripheral.py": ("simulators",),
    "cloud": ("cloud",),
    "edgeward/demo": ("demo",),
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(directory),
            str(REPOSITORY),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = directory.glob("edgeward-*.whl")
    return built


def test_wheel_holds_only_the_edgeward_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {
        "edgeward",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for part in PARTS:
        assert f"edgeward/{part}/__init__.py" in names
    assert "edgeward/cloud/migrations/versions/0001_initial.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "edgeward = edgeward.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_version_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgeward", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("edgeward ")


def requirements_by_extra(wheel: Path) -> dict[str, set[str]]:
    """The wheel's Requires-Dist by extra ("" for the base install): canonical names."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        fields = Parser().parsestr(archive.read(name).decode())
    extras = ["", *fields.get_all("Provides-Extra", [])]
    found: dict[str, set[str]] = {extra: set() for extra in extras}
    for line in fields.get_all("Requires-Dist", []):
        requirement = Requirement(line)
        for extra in extras:
            marker = requirement.marker
            if marker is None or marker.evaluate({"extra": extra}):
                found[extra].add(canonicalize_name(requirement.name))
    return found


def test_the_base_install_is_the_gateway_role(wheel: Path) -> None:
    """What the appliance image installs: the wheel's requirements without extras."""
    required = requirements_by_extra(wheel)
    assert required[""] >= {"pymodbus", "bleak", "pyserial", "paho-mqtt", "cryptography", "httpx"}
    assert required[""] & (CLOUD_DISTRIBUTIONS | {"bumble", "rich"}) == set()
    assert required["cloud"] >= CLOUD_DISTRIBUTIONS
    assert "bumble" in required["simulators"]
    assert {"edgeward", "rich"} <= required["demo"]


def third_party_imports(source: Path) -> set[str]:
    """Top-level names of every module ``source`` imports, lazily or not, outside the
    standard library and Edgeward."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"edgeward", "__future__"}


def extras_of(relative: Path) -> tuple[str, ...]:
    path = relative.as_posix()
    prefixes = [p for p in ROLE_OF_PATH if path == p or path.startswith(f"{p}/")]
    assert prefixes, f"{relative}: no role (add its folder to ROLE_OF_PATH)"
    return ROLE_OF_PATH[max(prefixes, key=len)]


def test_every_library_the_code_imports_comes_with_its_role() -> None:
    """The gateway, drivers, sync and provisioning import only what the base install
    brings; the cloud and the demo only what their extras add."""
    owners = metadata.packages_distributions()
    brought = {extras: roles.distributions(extras) for extras in set(ROLE_OF_PATH.values())}
    checked = 0
    for folder in ("gateway", "drivers", "sync", "provisioning", "cloud", "edgeward"):
        for source in sorted((REPOSITORY / folder).glob("**/*.py")):
            relative = source.relative_to(REPOSITORY)
            if relative.parts[0] == "edgeward" and relative.parts[1] in PARTS:
                continue  # the symlinks to the parts above
            extras = extras_of(relative)
            install = f"edgeward[{','.join(extras)}]" if extras else "edgeward"
            for module in third_party_imports(source):
                checked += 1
                dists = {canonicalize_name(d) for d in owners.get(module, [])}
                assert dists & brought[extras], (
                    f"{relative} imports {module} ({sorted(dists) or 'not installed'}), "
                    f"which pip install '{install}' does not bring"
                )
    assert checked > 100
