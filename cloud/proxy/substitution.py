"""``[~name]`` references in a proxied call: finding them, checking them, replacing them.

A reference is ``[~`` + 1-64 of ``A-Z a-z 0-9 _ . -`` + ``]``. In the URL path
and query the brackets and tilde may arrive percent-encoded (``%5B~name%5D``,
as most HTTP clients encode them); both spellings are references. Any ``[~``
that does not open a well-formed reference is refused, so a typo never goes
out as literal text where a secret was meant.

Replacement is the last step, after every reference of the call has been
checked against its secret's hosts and positions; a value is percent-encoded
in the path and query, and refused in a header if it holds CR, LF or NUL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from edgeward.cloud.errors import InvalidRequest, SubstitutionRefused
from edgeward.cloud.keychain.store import Resolved

_NAME = r"([A-Za-z0-9_.-]{1,64})"
URL_REFERENCE = re.compile(r"(?:\[|%5[Bb])(?:~|%7[Ee])" + _NAME + r"(?:\]|%5[Dd])")
URL_OPENING = re.compile(r"(?:\[|%5[Bb])(?:~|%7[Ee])")
TEXT_REFERENCE = re.compile(r"\[~" + _NAME + r"\]")
BODY_REFERENCE = re.compile(rb"\[~" + _NAME.encode() + rb"\]")


@dataclass(frozen=True, slots=True)
class Use:
    """One reference: which secret, and where (``path``, ``query``, ``headers``, ``body``)."""

    name: str
    position: str
    field: str


def _names(
    text: str, reference: re.Pattern[str], opening: re.Pattern[str], field: str
) -> list[str]:
    openings = len(opening.findall(text))
    names = reference.findall(text)
    if openings != len(names):
        raise InvalidRequest(
            "malformed keychain reference: '[~' must open [~name] with a name of 1 to 64 "
            "letters, digits, '_', '.', '-' and a closing ']'",
            field=field,
        )
    return list(names)


def find_uses(path: str, query: str, headers: list[tuple[str, str]], body: bytes) -> list[Use]:
    """Every reference of the call; malformed ones are refused (the host was checked by
    :func:`edgeward.cloud.proxy.forward.parse_target`)."""
    uses = [Use(n, "path", "path") for n in _names(path, URL_REFERENCE, URL_OPENING, "path")]
    uses += [Use(n, "query", "query") for n in _names(query, URL_REFERENCE, URL_OPENING, "query")]
    for header, value in headers:
        if "[~" in header:
            raise SubstitutionRefused(
                "keychain references are substituted into header values, never names",
                field="headers",
            )
        field = f"headers.{header.lower()}"
        uses += [
            Use(n, "headers", field) for n in _names(value, TEXT_REFERENCE, _TEXT_OPENING, field)
        ]
    body_names = BODY_REFERENCE.findall(body)
    if body.count(b"[~") != len(body_names):
        raise InvalidRequest(
            "malformed keychain reference in the body: '[~' must open [~name]", field="body"
        )
    uses += [Use(n.decode(), "body", "body") for n in body_names]
    return uses


_TEXT_OPENING = re.compile(r"\[~")


def check_uses(uses: list[Use], secrets: Mapping[str, Resolved], host: str) -> None:
    """Refuse before anything leaves: each secret only to its hosts, in its positions."""
    for use in uses:
        secret = secrets[use.name]
        if not secret.allows_host(host):
            raise SubstitutionRefused(
                f"keychain secret {use.name!r} may not be sent to host {host!r}", field=use.field
            )
        if use.position not in secret.positions:
            hint = " (the body needs the secret's opt-in: add 'body' to its positions)"
            raise SubstitutionRefused(
                f"keychain secret {use.name!r} may not be substituted in the {use.position}; "
                f"allowed: {', '.join(secret.positions)}"
                + (hint if use.position == "body" else ""),
                field=use.field,
            )


def substitute_url_part(text: str, secrets: Mapping[str, Resolved]) -> str:
    return URL_REFERENCE.sub(lambda m: quote(secrets[m.group(1)].value, safe=""), text)


def substitute_header(value: str, secrets: Mapping[str, Resolved], field: str) -> str:
    def replace(match: re.Match[str]) -> str:
        secret = secrets[match.group(1)].value
        if any(c in secret for c in "\r\n\0"):
            raise InvalidRequest(
                f"keychain secret {match.group(1)!r} holds characters a header cannot carry",
                field=field,
            )
        return secret

    return TEXT_REFERENCE.sub(replace, value)


def substitute_body(body: bytes, secrets: Mapping[str, Resolved]) -> bytes:
    return BODY_REFERENCE.sub(lambda m: secrets[m.group(1).decode()].value.encode(), body)
