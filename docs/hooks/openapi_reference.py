"""MkDocs hook: the cloud API reference, rendered from the cloud app's OpenAPI document.

The page ``reference/cloud-api.md`` holds a marker; at build time this hook
builds the real app (``create_app``), asks it for its OpenAPI document and
replaces the marker with one section per route: method, path, summary, the
grant it needs, parameters, request and response schemas, then the schemas
and the grant maps of the roles. The document itself is written next to the
page as ``reference/openapi.json``.

Why a hook and not a plugin: the Swagger UI and ReDoc plugins load their
viewers from a CDN (the site must work offline), and the Markdown renderers
(neoteroi-mkdocs' OAD) read a file someone must first produce from the app
anyway. Neither can show the grant a route needs, which is not in the
document: it is declared by the route's ``requires(api)`` dependency, so the
hook reads it from the same app's routes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

PAGE = "reference/cloud-api.md"
DOCUMENT = "reference/openapi.json"
MARKER = "<!-- openapi-reference: rendered here at build time -->"
HUB_VARIABLE = "EDGEWARD_CLOUD_HUB_INTERFACE"
VERBS = ("get", "post", "put", "delete", "patch")


def build_document() -> tuple[dict[str, Any], dict[tuple[str, str], str | None]]:
    """The app's OpenAPI document, and the API each (METHOD, path) requires (None: public)."""
    with (
        tempfile.TemporaryDirectory() as directory,
        _without_hub(),
        warnings.catch_warnings(),
    ):
        # Not this site's business: ldap3 imports names pyasn1 deprecated, and
        # the proxy serves four verbs from one function, so FastAPI warns that
        # their operation ids collide (this page never uses operation ids).
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ldap3\.")
        warnings.filterwarnings("ignore", message="Duplicate Operation ID")
        from edgeward.cloud.api.app import create_app
        from edgeward.cloud.config.settings import CloudSettings

        data_dir = Path(directory)
        settings = CloudSettings(
            data_dir=data_dir, db_url=f"sqlite:///{data_dir / 'cloud.db'}", pepper=bytes(32)
        )
        app = create_app(settings, migrate=False)
        try:
            return app.openapi(), declared_apis(app)
        finally:
            app.state.database.dispose()


def declared_apis(app: Any) -> dict[tuple[str, str], str | None]:
    """The API each route's ``requires(api)`` declares, by (METHOD, path as documented)."""
    from edgeward.cloud.api.app import api_routes
    from edgeward.cloud.api.authz import Requirement

    apis: dict[tuple[str, str], str | None] = {}
    for route in api_routes(app):
        for dependency in route.dependant.dependencies:
            if isinstance(dependency.call, Requirement):
                # The document writes a path converter's parameter bare:
                # /v1/proxy/{target:path} is /v1/proxy/{target} there.
                path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
                for method in route.methods:
                    apis[(method, path)] = dependency.call.api
    return apis


@contextlib.contextmanager
def _without_hub() -> Iterator[None]:
    """The app reconciles a WireGuard hub named in the environment when it is
    created; building the docs must never touch one."""
    saved = os.environ.pop(HUB_VARIABLE, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[HUB_VARIABLE] = saved


def render(document: dict[str, Any], grants: dict[tuple[str, str], str | None]) -> str:
    """The reference as Markdown: routes grouped by tag, then schemas, then roles."""
    lines: list[str] = []
    for tag, operations in _by_tag(document):
        lines += [f"## {tag.capitalize()}", ""]
        for method, path, operation in operations:
            if (method.upper(), path) not in grants:
                raise LookupError(f"{method.upper()} {path}: no route declares its API")
            lines += _operation(method, path, operation, grants[(method.upper(), path)])
    lines += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines += _schema(name, schema)
    lines += _roles()
    return "\n".join(lines) + "\n"


def _by_tag(document: dict[str, Any]) -> Iterator[tuple[str, list[tuple[str, str, Any]]]]:
    groups: dict[str, list[tuple[str, str, Any]]] = {}
    for path, item in document["paths"].items():
        for method in VERBS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append((method, path, operation))
    yield from groups.items()


def _operation(method: str, path: str, operation: dict[str, Any], api: str | None) -> list[str]:
    grant = "public: no credential" if api is None else f"`{api}:{method.upper()}`"
    lines = [f"### `{method.upper()} {path}`", ""]
    if summary := operation.get("summary"):
        lines += [_escape(summary), ""]
    if description := operation.get("description"):
        lines += [_escape(description.strip()), ""]
    lines += [f"- Grant: {grant}"]
    if body := operation.get("requestBody"):
        lines += [f"- Request body: {_content(body.get('content', {}))}"]
    for status, response in operation.get("responses", {}).items():
        if status == "422" and _is_validation_error(response):
            continue  # every route with input has it; the error shape is said once above
        said = _escape(response.get("description", ""))
        said = "" if said == "Successful Response" else f" {said}"
        lines += [f"- Answers `{status}`{said}: {_content(response.get('content', {}))}"]
    lines.append("")
    if parameters := operation.get("parameters"):
        lines += [
            "| parameter | in | required | type | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | "
                f"{'yes' if parameter.get('required') else 'no'} | "
                f"{_type(parameter.get('schema', {}))} | "
                f"{_escape(parameter.get('description', ''))} |"
            )
        lines.append("")
    return lines


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name} {{#schema-{name.lower()}}}", ""]
    if description := schema.get("description"):
        lines += [_escape(description.strip()), ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"{_type(schema)}", ""]
    required = set(schema.get("required", ()))
    lines += ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for field, definition in properties.items():
        lines.append(
            f"| `{field}` | {_type(definition)} | {'yes' if field in required else 'no'} | "
            f"{_escape(definition.get('description', ''))} |"
        )
    return [*lines, ""]


def _roles() -> list[str]:
    from edgeward.cloud.identity import grants

    lines = [
        "## Roles",
        "",
        "What each user role holds, and what a gateway's credential holds "
        "(`edgeward.cloud.identity.grants`). APIs: "
        + ", ".join(f"`{api}`" for api in grants.APIS)
        + ".",
        "",
        "| holder | grants |",
        "| --- | --- |",
    ]
    holders = {**grants.ROLE_GRANTS, "gateway": grants.GATEWAY_GRANTS}
    for holder, granted in holders.items():
        entries = (
            f"`{api}:{','.join(verb for verb in grants.VERBS if verb in verbs)}`"
            for api, verbs in granted.items()
        )
        lines.append(f"| {holder} | {' '.join(entries)} |")
    return [*lines, ""]


def _content(content: dict[str, Any]) -> str:
    if not content:
        return "no body"
    return ", ".join(
        f"{_type(media.get('schema', {}))} (`{media_type}`)"
        for media_type, media in content.items()
    )


def _type(schema: dict[str, Any]) -> str:
    """A short type: a link for a named schema, ``list[...]``, ``A | B``, ``JSON`` when untyped."""
    if ref := schema.get("$ref"):
        name = ref.rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name.lower()})"
    if options := schema.get("anyOf") or schema.get("oneOf"):
        return " \\| ".join(_type(option) for option in options)
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        return f"map[{_type(values) if isinstance(values, dict) else 'JSON'}]"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    if kind is None:
        return "JSON"
    if fmt := schema.get("format"):
        return f"{kind} ({fmt})"
    return str(kind)


def _is_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _escape(text: str) -> str:
    """One line of table-safe Markdown."""
    return " ".join(text.split()).replace("|", "\\|")


# MkDocs events ------------------------------------------------------------

_built: dict[str, Any] = {}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    document, grants = build_document()
    _built["markdown"] = render(document, grants)
    files.append(File.generated(config, DOCUMENT, content=json.dumps(document, indent=2) + "\n"))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER!r}")
    return markdown.replace(MARKER, _built["markdown"])
