"""What ``edgeward devices convert`` prints, and ``--write``.

For each distinct type document: the document, as the body of
``POST /v1/data-source-types``. For each section: the binding that stays
in gateway.toml. Then the exact commands that finish the move, with the
file's own cloud URL and gateway id: see which type each source is
registered with (most old files repeated the type's map, and the cloud's
migration rewrote such types itself: nothing to create), else create the
type and register the source again with it (the API can't change a
source's type), and rewrite gateway.toml.

``--write`` rewrites gateway.toml without the moved keys, checked first by
the gateway's own parser, after keeping the original as ``FILE.bak`` with
its mode.
"""

from __future__ import annotations

import json
import shlex
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeward.provisioning import gateway_toml
from edgeward.provisioning.convert import Moved, convert, spec_problem, type_document, type_groups
from edgeward.provisioning.errors import UsageError
from edgeward.provisioning.state import write

AUTH = '-H "Authorization: Bearer $EDGEWARD_TOKEN"'
JSON = "-H 'Content-Type: application/json'"

Say = Callable[[str], None]


def run_convert(config: Path, *, write_file: bool, say: Say) -> None:
    document = gateway_toml.read(config)
    moved = convert(document)
    if not moved:
        say(f"{config}: nothing to convert: every device section only binds its source")
        return
    cloud = document.get("cloud", {}).get("url", "CLOUD_URL").rstrip("/")
    gateway_id = document.get("gateway", {}).get("id", "GATEWAY_ID")
    say(
        f"{config}: {len(moved)} sections say how to read and decode their device; "
        "that is the data-source type's now"
    )
    groups = list(type_groups(moved))
    numbers: dict[str, int] = {}
    for number, (spec, sources) in enumerate(groups, start=1):
        names = ", ".join(item.source for item in sources)
        say(f"\n== type {number} ({spec['transport']}), for {names}")
        say(json.dumps(type_document(spec, sources), indent=2, ensure_ascii=False))
        problem = spec_problem(spec)
        if problem:
            say(f"! the cloud would refuse it as it stands ({problem}): fix it before creating it")
        numbers.update((item.key, number) for item in sources)
    for item in moved:
        say(f"\n== {item.source} ({item.key}) reads by type {numbers[item.key]}; it keeps:")
        say(item.section())
        for note in item.notes:
            say(f"note: {note}")
    if write_file:
        _write(config, gateway_toml.text(document))
    _steps(config, cloud, str(gateway_id), groups, numbers, written=write_file, say=say)


def _steps(
    config: Path,
    cloud: str,
    gateway_id: str,
    groups: list[tuple[dict[str, Any], list[Moved]]],
    numbers: dict[str, int],
    *,
    written: bool,
    say: Say,
) -> None:
    listing = shlex.quote(f"{cloud}/v1/data-sources?gateway_id={gateway_id}")
    say("\n== next steps")
    say(
        "1. See which type each source is registered with. Where it is the same as "
        "above (old files repeated their type's map, and the cloud rewrote such types "
        "in today's language itself), there is nothing to create:"
    )
    say(f"   curl {AUTH} {listing}")
    say(
        "2. Otherwise create the type, and register the source again with the id the "
        "cloud gives it (a source's type can't be changed: DELETE /v1/data-sources/ID first):"
    )
    for number, (spec, sources) in enumerate(groups, start=1):
        body = shlex.quote(json.dumps(type_document(spec, sources), ensure_ascii=False))
        say(f"   type {number}: curl {AUTH} {JSON} -d {body} {cloud}/v1/data-source-types")
    for _, sources in groups:
        for item in sources:
            source = {
                "name": item.source,
                "type_id": f"TYPE_{numbers[item.key]}_ID",
                "gateway_id": gateway_id,
                "binding": item.binding,
            }
            body = shlex.quote(json.dumps(source, ensure_ascii=False))
            say(f"   {item.source}: curl {AUTH} {JSON} -d {body} {cloud}/v1/data-sources")
    here = shlex.quote(str(config))
    if written:
        say(f"3. {config} is rewritten without them; the old file is {config}.bak.")
    else:
        say(f"3. Rewrite {config} without them (the old file is kept as {config}.bak):")
        say(f"   edgeward devices convert --config {here} --write")
    say(f"4. Check it, then restart the gateway: edgeward gateway check-config --config {here}")


def _write(config: Path, rendered: str) -> None:
    """Keep ``config`` as ``config.bak`` (mode kept), then replace it, checked first."""
    gateway_toml.check(config, rendered, "converted")
    backup = config.with_name(config.name + ".bak")
    if backup.exists():
        raise UsageError(
            f"{backup} exists: move it aside first (it may be an older backup)",
            hint=f"{config} was not changed",
        )
    original = config.read_bytes()
    write(backup, original, mode=stat.S_IMODE(config.stat().st_mode))
    gateway_toml.replace(config, rendered)
