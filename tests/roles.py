"""What each role installs, read from pyproject.toml and the installed packages' metadata.

``pip install edgeward`` is the gateway role; the extras add the others. The
tests use this to know, without a second virtual environment, which
distributions (and so which top-level modules) a base install would lack.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPOSITORY = Path(__file__).resolve().parent.parent
# The libraries the cloud role and the BLE simulator import, which the gateway
# must neither load nor need (edgeward.cli names the extra that brings each).
CLOUD_LIBRARIES = frozenset(
    {
        "fastapi",
        "starlette",
        "pydantic",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "psycopg",
        "ldap3",
        "authlib",
        "bumble",
    }
)


def project() -> dict[str, Any]:
    with (REPOSITORY / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["project"]
    return table


def own_requirements(extras: Iterable[str]) -> list[Requirement]:
    """edgeward's requirements with ``extras``, its self-references (edgeward[cloud]) expanded."""
    table = project()
    optional: dict[str, list[str]] = table["optional-dependencies"]
    found = [Requirement(line) for line in table["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in map(Requirement, optional[extra]):
            if canonicalize_name(requirement.name) == "edgeward":
                todo.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def distributions(extras: Iterable[str] = ()) -> set[str]:
    """Every distribution ``pip install 'edgeward[extras]'`` brings, by the installed
    metadata (canonical names). A requirement of this platform that is not installed
    fails: the answer would be short of it."""
    todo = [(requirement, "") for requirement in own_requirements(extras)]
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement, asked_by_extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": asked_by_extra}):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        found.add(name)
        for line in metadata.requires(name) or []:
            child = Requirement(line)
            todo.append((child, ""))
            todo.extend((child, extra) for extra in requirement.extras)
    return found


def modules_of(names: set[str]) -> set[str]:
    """The top-level modules the installed distributions ``names`` provide."""
    return {
        module
        for module, owners in metadata.packages_distributions().items()
        if any(canonicalize_name(owner) in names for owner in owners)
    }


def installed_distributions() -> set[str]:
    return {canonicalize_name(dist.metadata["Name"]) for dist in metadata.distributions()}


# In every virtual environment, the image's too.
VENV_TOOLS = {"pip", "setuptools", "wheel"}


def base_modules() -> set[str]:
    """Top-level modules a base install holds: the standard library's, Edgeward's own
    and those of the distributions ``pip install edgeward`` brings."""
    base = distributions() | {"edgeward"} | VENV_TOOLS
    return set(sys.stdlib_module_names) | {"edgeward"} | modules_of(base)


def beyond_the_base() -> set[str]:
    """Top-level modules installed here that ``pip install edgeward`` would not bring."""
    return modules_of(installed_distributions()) - base_modules()
