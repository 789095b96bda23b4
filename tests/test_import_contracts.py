"""DESIGN's layout table holds: import-linter's contracts (pyproject.toml), and a lint
rule that refuses the parts as bare top-level modules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PARTS = ("gateway", "drivers", "sync", "provisioning", "cloud")


def test_the_import_contracts_hold_over_every_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as main; main()",
         "--no-cache", "--no-logo"],
        cwd=REPOSITORY, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    # The parts reach edgeward/ through symlinks: the graph must have walked them.
    own = REPOSITORY / "edgeward"
    modules = [p for p in own.rglob("*.py") if p.relative_to(own).parts[0] not in PARTS]
    modules += [p for part in PARTS for p in (REPOSITORY / part).rglob("*.py")]
    analyzed = re.search(r"Analyzed (\d+) files", result.stdout)
    assert analyzed is not None, result.stdout
    assert int(analyzed.group(1)) == len(modules)


def test_a_bare_import_of_a_part_is_refused_by_the_linter(tmp_path: Path) -> None:
    bare = [
        "import sync",
        "import gateway.config",
        "from drivers import base",
        "from cloud.errors import NotFound",
        "from provisioning import state",
    ]
    namespaced = [
        "from edgeward import sync",
        "import edgeward.gateway.config",
        "from edgeward.drivers import base",
        "from edgeward.cloud.errors import NotFound",
        "from edgeward.provisioning import state",
    ]
    snippet = tmp_path / "snippet.py"
    snippet.write_text("\n".join([*bare, *namespaced]) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         "--config", str(REPOSITORY / "pyproject.toml"), "--select", "TID251", str(snippet)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    flagged = sorted(
        int(line.split(":")[1]) for line in result.stdout.splitlines() if "TID251" in line
    )
    assert flagged == list(range(1, len(bare) + 1)), result.stdout
