"""The image installs the gateway role only: ``pip install edgeward``, no extras."""

from __future__ import annotations

import pytest

from tests import roles
from tests.image.rootfs import BUILD_TIMEOUT, Chroot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(BUILD_TIMEOUT + 300),
    # Mounts the one cached rootfs, as the other image modules do.
    pytest.mark.exclusive("image"),
]

# The image's Python has no packaging library: PEP 503's normalised names by hand.
LIST_DISTRIBUTIONS = (
    "import re\n"
    "from importlib import metadata\n"
    "for d in metadata.distributions(): print(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower())"
)


def test_the_image_venv_holds_exactly_the_base_install(chroot: Chroot) -> None:
    """Compared with what pip install edgeward brings by this machine's metadata
    (the same Python and platform as the image's)."""
    done = chroot.run(
        "/opt/edgeward/current/bin/python",
        "-c",
        LIST_DISTRIBUTIONS,
    )
    assert done.returncode == 0, done.stderr
    installed = set(done.stdout.split()) - roles.VENV_TOOLS
    assert installed == roles.distributions() | {"edgeward"}
    assert installed & {"fastapi", "sqlalchemy", "psycopg", "bumble", "rich"} == set()


def test_the_cloud_command_inside_names_its_extra(chroot: Chroot) -> None:
    done = chroot.run("/usr/local/bin/edgeward", "cloud", "serve")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("edgeward: the cloud role is not installed")
    assert done.stderr.endswith("pip install 'edgeward[cloud]'\n")
    assert "Traceback" not in done.stderr
