"""The documentation's Markdown files and the fenced blocks in them.

The README (the front page), the image's README (which ships inside the
image and is included in the site) and every page under docs/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
IMAGE_README = ROOT / "image" / "README.md"

# A fence at the start of a line, its language, its body up to the closing fence.
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# A comment right before a fence that says which route a JSON body is for.
REQUEST_MARKER = re.compile(r"<!-- request: (GET|POST|PUT|DELETE) (\S+) -->\n$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str
    # "PUT /v1/directory" when the block is marked as that route's request body.
    request: tuple[str, str] | None

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def markdown_files() -> list[Path]:
    return [README, IMAGE_README, *sorted(DOCS.rglob("*.md"))]


def doc_pages() -> list[Path]:
    """The site's own pages (relative to docs/), which the nav must list."""
    return sorted(path.relative_to(DOCS) for path in DOCS.rglob("*.md"))


def blocks(language: str | None = None) -> list[Block]:
    found: list[Block] = []
    for path in markdown_files():
        text = path.read_text()
        for match in FENCE.finditer(text):
            before = text[: match.start()]
            marker = REQUEST_MARKER.search(before)
            request = (marker.group(1), marker.group(2)) if marker else None
            block = Block(path, before.count("\n") + 1, match.group(1), match.group(2), request)
            if language is None or block.language == language:
                found.append(block)
    return found


def documented_types() -> list[tuple[str, dict[str, Any]]]:
    """Every JSON block that is a data-source type (it names a transport), where it is."""
    found = []
    for block in blocks("json"):
        body = json.loads(block.text)
        if isinstance(body, dict) and "transport" in body:
            found.append((block.where(), body))
    return found
