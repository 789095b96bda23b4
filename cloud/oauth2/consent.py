"""The consent page of the authorization endpoint: plain server-rendered HTML.

It lists exactly what the client will be granted (one row per API, the verbs
spelled out) and where the browser goes next. How the user signs in: with
their own Edgeward token, sent as ``Authorization: Bearer`` (scripts, CLIs) or
typed into the page's password field (browsers). Nothing is ambient: no
cookie, no session, so a forged cross-site POST carries no credential and
there is nothing for CSRF to ride on; the token travels in a POST body, never
a URL. Pages are ``no-store`` and refuse framing (clickjacking).
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from edgeward.cloud.identity import grants as grant_maps
from edgeward.cloud.oauth2.bridge import Answer
from edgeward.cloud.oauth2.rfc8414 import AUTHORIZE_PATH

HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    ("Referrer-Policy", "no-referrer"),
]
VERB_WORDS = {"GET": "read", "POST": "create", "PUT": "change", "DELETE": "delete"}


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )


def grant_rows(grants: grant_maps.Grants) -> str:
    rows = []
    for api, verbs in grant_maps.to_json(grants).items():
        spelled = ", ".join(f"{VERB_WORDS[verb]} ({verb})" for verb in verbs)
        rows.append(f"<tr><td>{escape(api)}</td><td>{escape(spelled)}</td></tr>")
    return "\n".join(rows)


def page(
    *,
    client_name: str,
    redirect_uri: str,
    grants: grant_maps.Grants,
    query: tuple[tuple[str, str], ...],
    signed_in_as: str | None,
    problem: str | None = None,
    status: int = 200,
) -> Answer:
    action = f"{AUTHORIZE_PATH}?{urlencode(query)}"
    if signed_in_as is None:
        who = (
            "<p><label>Your Edgeward token (ewt_…) "
            "<input type=password name=credential autocomplete=off></label></p>"
        )
    else:
        who = f"<p>Signed in as <strong>{escape(signed_in_as)}</strong>.</p>"
    warning = f'<p role="alert"><strong>{escape(problem)}</strong></p>' if problem else ""
    body = f"""<h1>Authorize {escape(client_name)}</h1>
{warning}
<p><strong>{escape(client_name)}</strong> asks for access to your Edgeward account.
If you approve, it is granted exactly this, and nothing else:</p>
<table id=grants><thead><tr><th>API</th><th>may</th></tr></thead><tbody>
{grant_rows(grants)}
</tbody></table>
<p>Your browser then returns to <code>{escape(redirect_uri)}</code>.</p>
<form method=post action="{escape(action)}">
{who}
<button type=submit name=decision value=approve>Approve</button>
<button type=submit name=decision value=deny>Deny</button>
</form>"""
    return Answer(status, _document(f"Authorize {client_name}", body), HEADERS)


def error_page(status: int, error: str, description: str | None) -> Answer:
    """An error that must not redirect (unknown client, unregistered redirect URI)."""
    body = (
        f"<h1>This authorization request can't be served</h1>\n"
        f"<p>Error: <code id=error>{escape(error)}</code></p>\n"
        f"<p>{escape(description or '')}</p>"
    )
    return Answer(status, _document("Authorization error", body), HEADERS)
