from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.rootfs import Chroot, build_rootfs


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per run (or taken from the cache) for every image test."""
    return build_rootfs(tmp_path_factory.mktemp("image") / "build.log")


@pytest.fixture(scope="module")
def chroot(rootfs: Path) -> Iterator[Chroot]:
    with Chroot(rootfs).mounted() as inside:
        yield inside
