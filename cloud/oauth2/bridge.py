"""Between FastAPI and authlib's synchronous server side.

authlib's server calls ``query_client``, ``save_token`` and the grant hooks
synchronously, and they reach the database through the cloud's synchronous
SQLAlchemy engine. So every OAuth call runs in Starlette's thread pool
(:func:`run`), never on the event loop; and authlib never sees a Starlette
request: the route reads the body on the event loop first (Starlette's body
reader is async-only) and hands authlib a :class:`Snapshot`, a plain frozen
copy of method, URL, headers and parameters. authlib answers with
(status, body, headers), turned into a Starlette response back on the loop.

Per-call state (the transaction, the time, the caller's address) travels in a
context variable: authlib's hooks (``query_client(client_id)``) take no
request of ours, and one server object serves every concurrent call.
"""

from __future__ import annotations

import contextvars
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from edgeward.cloud.errors import PayloadTooLarge
from edgeward.cloud.storage.database import Database
from edgeward.sync.clock import now_us

# OAuth requests are a handful of short parameters.
MAX_FORM_BYTES = 64 * 1024
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What authlib may read of a request, copied on the event loop."""

    method: str
    url: str
    headers: Headers
    query: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...]
    client: str


async def snapshot(request: Request) -> Snapshot:
    """Copy ``request`` for the thread pool; a form body (RFC 6749 appendix B) is parsed."""
    form: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"a form body holds at most {MAX_FORM_BYTES} bytes")
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return Snapshot(
        method=request.method,
        url=str(request.url),
        headers=Headers(raw=list(request.headers.raw)),
        query=tuple(request.query_params.multi_items()),
        form=tuple(form),
        client=request.client.host if request.client else "unknown",
    )


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """Parameters of the query and the form; the first of a repeated name wins,
    and ``datalist`` keeps all so authlib can refuse repeats (RFC 6749 section 3.1)."""

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class SnapshotRequest(OAuth2Request):  # type: ignore[misc]
    """authlib's request type over a :class:`Snapshot`."""

    def __init__(self, snap: Snapshot) -> None:
        super().__init__(snap.method, snap.url, headers=snap.headers)
        self.snapshot = snap
        self.payload = _Payload(snap.query + snap.form)
        self._args = dict(snap.query)
        self._form = dict(snap.form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True, slots=True)
class Answer:
    """authlib's (status, body, headers), before it becomes a Starlette response."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    def response(self) -> Response:
        content = self.body if isinstance(self.body, str | bytes) else json.dumps(self.body)
        headers = dict(self.headers)
        if isinstance(self.body, dict):
            headers.setdefault("Content-Type", "application/json")
        return Response(content, status_code=self.status, headers=headers)


@dataclass(slots=True)
class Call:
    """One OAuth call: its transaction, time and caller."""

    connection: sa.Connection
    now: int
    client: str


_current: contextvars.ContextVar[Call] = contextvars.ContextVar("oauth_call")


def current() -> Call:
    return _current.get()


@contextmanager
def _in_call(database: Database, client: str) -> Iterator[Call]:
    with database.engine.begin() as connection:
        call = Call(connection, now_us(), client)
        token = _current.set(call)
        try:
            yield call
        finally:
            _current.reset(token)


async def run(database: Database, snap: Snapshot, work: Callable[[Call], T]) -> T:
    """``work`` in the thread pool, inside one transaction that commits when it returns.

    authlib reports protocol errors as answers, not exceptions, so failures it
    records (a replayed code revoking its tokens, the audit of a failure)
    commit too; an exception rolls everything back.
    """

    def in_thread() -> T:
        with _in_call(database, snap.client) as call:
            return work(call)

    return await run_in_threadpool(in_thread)
