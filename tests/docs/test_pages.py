"""The site lists every page, the README's links land, and the code the docs name exists.

``mkdocs build --strict`` (in ``make test``) checks links between the site's
pages; the README's links (read on GitHub, outside the site) and the code
paths and Python names in backticks are checked here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.docs.pages import DOCS, IMAGE_README, README, ROOT, doc_pages, markdown_files

PARTS = "drivers|gateway|sync|provisioning|cloud|edgeward|image|tests|bench|docs"
# `gateway/outbox/uplink.py`, `tests/peers/`: a path in the repository.
CODE_PATH = re.compile(rf"`((?:{PARTS})/[\w./-]*)`")
# `edgeward.sync.reports.sign_hmac`: a module, or a name in one.
PYTHON_NAME = re.compile(r"`(edgeward(?:\.\w+)+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def nav_pages(entries: list[Any]) -> Iterator[str]:
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            yield from nav_pages(value)
        else:
            yield value


def slug(heading: str) -> str:
    """The anchor MkDocs' table of contents gives a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[\s-]+", "-", text).strip("-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+?)\s*$", path.read_text(), flags=re.MULTILINE)}


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = list(nav_pages(config["nav"]))
    assert len(listed) == len(set(listed)), "a page listed twice"
    assert sorted(listed) == sorted(str(page) for page in doc_pages())


def test_readme_links_point_at_files_and_headings_that_exist() -> None:
    checked = 0
    for source in (README, IMAGE_README):
        for target in LINK.findall(source.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            file, _, anchor = target.partition("#")
            path = (source.parent / file).resolve() if file else source
            assert path.exists(), f"{source.relative_to(ROOT)} links to missing {target}"
            if anchor:
                assert anchor in anchors(path), (
                    f"{source.relative_to(ROOT)}: no #{anchor} in {file}"
                )
            checked += 1
    assert checked >= 20, "the README's quick starts link into docs/"


def test_code_paths_in_the_docs_exist() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in markdown_files()
        for name in CODE_PATH.findall(path.read_text())
        if "..." not in name and not (ROOT / name).exists()
    ]
    assert missing == []


def test_python_names_in_the_docs_exist() -> None:
    missing = []
    for path in markdown_files():
        for name in PYTHON_NAME.findall(path.read_text()):
            if not _resolves(name):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_the_checks_see_the_pages_they_should() -> None:
    assert (DOCS / "reference" / "cloud-api.md") in markdown_files()
    assert slug("Admission on the gateway") == "admission-on-the-gateway"
    assert slug("Configuration: gateway.toml") == "configuration-gatewaytoml"
    assert not _resolves("edgeward.sync.registry_client")
    assert _resolves("edgeward.sync.reports.sign_hmac")
