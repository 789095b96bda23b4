"""One road to the cloud: the gateway's cloud client is the only gateway or sync module
that imports httpx, so every call to the cloud goes through it and its error translation.

The imports are read with :mod:`ast`, not grepped: a docstring naming httpx is not an
import, and ``from httpx import AsyncClient`` or ``import httpx._client`` are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import edgeward.gateway
import edgeward.provisioning
import edgeward.sync

THE_CLIENT = Path(edgeward.sync.__file__).parent / "client.py"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (functions included)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def imports_httpx(path: Path) -> bool:
    return any(name == "httpx" or name.startswith("httpx.") for name in imported_modules(path))


def modules_of(*packages: object) -> list[Path]:
    roots = [Path(package.__file__).parent for package in packages]  # type: ignore[attr-defined]
    return sorted(path for root in roots for path in root.rglob("*.py"))


def test_only_the_cloud_client_imports_httpx_in_the_gateway_and_sync() -> None:
    modules = modules_of(edgeward.gateway, edgeward.sync)
    assert len(modules) > 40, "the scan sees the packages"
    offenders = [str(path) for path in modules if imports_httpx(path) and path != THE_CLIENT]
    assert offenders == [], "these talk to the cloud beside edgeward.sync.client"


def test_the_installer_talks_to_the_cloud_from_one_module_too() -> None:
    """Provisioning keeps its own client (its docstring says why), in one module."""
    modules = modules_of(edgeward.provisioning)
    offenders = [path.name for path in modules if imports_httpx(path)]
    assert offenders == ["cloud_client.py"]


def test_the_scan_sees_an_import_wherever_it_is(tmp_path: Path) -> None:
    assert imports_httpx(THE_CLIENT), "the client itself is found"
    quiet = tmp_path / "quiet.py"
    quiet.write_text('"""Talks to the cloud without httpx."""\nimport json\n')
    assert not imports_httpx(quiet)
    for source in (
        "from httpx import AsyncClient\n",
        "import os, httpx._client\n",
        "def later():\n    import httpx\n",
    ):
        hidden = tmp_path / "hidden.py"
        hidden.write_text(source)
        assert imports_httpx(hidden), source
