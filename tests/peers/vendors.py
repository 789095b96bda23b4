"""Local stand-ins for third-party services, real HTTP servers on free ports.

:class:`OAuth2Provider` is a vendor with Salesforce-like (``instance_url``)
and Facebook-like (long-lived token exchange) quirks, switched by :class:`Quirks`.

:class:`EchoAPI` answers every call with what it received (method, raw path,
query, headers, body) as JSON, and keeps a record of each call so a test
can prove that nothing reached it. ``/redirect`` answers a 302, ``/hang``
holds its answer until the server stops (a vendor timeout), ``/cookie``
sets a cookie, ``/bytes/<n>`` streams ``n`` bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # raw, as it arrived
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[0] if found else None


class EchoAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Two writes per answer: no ~40 ms wait for a delayed ACK (Nagle).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(self.command, parts.path, parts.query, list(self.headers.items()), body)
                with api.lock:
                    api.calls.append(call)
                api.answer(self, call)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.authority = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.authority}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, call: Call) -> None:
        if call.path == "/redirect":
            target = parse_qs(call.query).get("to", ["http://169.254.169.254/"])[0]
            self._send(handler, 302, b"", [("Location", target)])
        elif call.path == "/hang":
            self.release.wait(60)
            self._send(handler, 200, b"late", [])
        elif call.path.startswith("/bytes/"):
            size = int(call.path.rsplit("/", 1)[1])
            self._send(handler, 200, b"x" * size, [("Content-Type", "application/octet-stream")])
        else:
            extra = [("Set-Cookie", "vendor=1")] if call.path == "/cookie" else []
            self._send(handler, 200, json.dumps(describe(call)).encode(), extra)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: list[tuple[str, str]]
    ) -> None:
        handler.send_response(status)
        for name, value in [("Content-Type", "application/json"), *headers]:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Vendor", "echo")
        handler.end_headers()
        handler.wfile.write(body)

    def taken(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def __enter__(self) -> EchoAPI:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def describe(call: Call) -> dict[str, Any]:
    return {
        "method": call.method,
        "path": call.path,
        "query": call.query,
        "headers": call.headers,
        "body": base64.b64encode(call.body).decode(),
    }


_shared: EchoAPI | None = None


def shared_echo() -> EchoAPI:
    """One echo API for the test process (the route catalog's proxy examples)."""
    global _shared
    if _shared is None:
        _shared = EchoAPI().__enter__()
    return _shared


@dataclass
class Quirks:
    """How the stand-in OAuth 2 provider behaves (RFC 6749 provider side, test-sized)."""

    client_auth: str = "client_secret_basic"
    pkce: bool = True
    instance_url: bool = False  # Salesforce: the token answer names the API's host
    long_lived: bool = False  # Facebook: fb_exchange_token trades for a long-lived token
    first_expires_in: int = 3600
    omit_refresh_token: bool = False  # refresh answers without a new refresh token
    refresh_fails: bool = False  # refresh answers invalid_grant
    token_error_page: bool = False  # the token endpoint answers an HTML error page
    deny: bool = False  # the user says no at the vendor
    token_hangs: bool = False  # the token endpoint never answers (until the server stops)


class OAuth2Provider(EchoAPI):
    """A vendor: ``/authorize`` approves at once (or denies), ``/token`` issues and
    refreshes tokens and counts refreshes, ``/api/...`` and ``/instance/api/...``
    answer only the current access token."""

    def __init__(self, client_id: str, client_secret: str, quirks: Quirks | None = None) -> None:
        super().__init__()
        self.client = (client_id, client_secret)
        self.quirks = quirks or Quirks()
        self.codes: dict[str, dict[str, str]] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refreshes = 0
        self.issued: list[str] = []  # every token handed out, for greps
        self.exchanges = 0
        self.authorize_params: list[dict[str, str]] = []
        self.hold_refresh = threading.Event()
        self.hold_refresh.set()

    def answer(self, handler: BaseHTTPRequestHandler, call: Call) -> None:
        params = {k: v[0] for k, v in parse_qs(call.query).items()}
        if call.path == "/authorize":
            self._authorize(handler, params)
        elif call.path == "/token" and call.method == "GET":
            self._exchange(handler, params)
        elif call.path == "/token":
            form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
            self._token(handler, call, form)
        elif call.path.startswith(("/api/", "/instance/api/")):
            token = (call.header("Authorization") or "").removeprefix("Bearer ")
            with self.lock:
                valid = token in self.access_tokens
            if not valid:
                self._json(handler, 401, {"error": "invalid_token"})
            else:
                self._json(handler, 200, {"path": call.path, "token": token})
        else:
            super().answer(handler, call)

    def _json(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        self._send(handler, status, json.dumps(body).encode(), [])

    def _authorize(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        self.authorize_params.append(params)
        redirect = params["redirect_uri"]
        if self.quirks.deny:
            location = f"{redirect}?error=access_denied&state={params['state']}"
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = params
            location = f"{redirect}?code={code}&state={params['state']}"
        self._send(handler, 302, b"", [("Location", location)])

    def _client_ok(self, call: Call, form: dict[str, str]) -> bool:
        if self.quirks.client_auth == "client_secret_post":
            given = (form.get("client_id", ""), form.get("client_secret", ""))
        else:
            basic = (call.header("Authorization") or "").removeprefix("Basic ")
            given_id, _, given_secret = base64.b64decode(basic or "").decode().partition(":")
            given = (given_id, given_secret)
        return given == self.client

    def _issue(self, handler: BaseHTTPRequestHandler, expires_in: int, refresh: bool) -> None:
        access = f"at-{secrets.token_urlsafe(12)}"
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": expires_in,
        }
        with self.lock:
            self.access_tokens = {access}  # only the newest is valid
            self.issued.append(access)
            if refresh:
                fresh = f"rt-{secrets.token_urlsafe(12)}"
                self.refresh_tokens.add(fresh)
                self.issued.append(fresh)
                body["refresh_token"] = fresh
        if self.quirks.instance_url:
            body["instance_url"] = f"{self.url}/instance"
        self._json(handler, 200, body)

    def _token(self, handler: BaseHTTPRequestHandler, call: Call, form: dict[str, str]) -> None:
        if self.quirks.token_hangs:
            self.release.wait(60)
        if self.quirks.token_error_page:
            self._send(handler, 500, b"<html>Service Unavailable</html>", [])
            return
        if not self._client_ok(call, form):
            self._json(handler, 401, {"error": "invalid_client"})
            return
        if form.get("grant_type") == "refresh_token":
            with self.lock:
                self.refreshes += 1
            self.hold_refresh.wait(30)
            if self.quirks.refresh_fails or form.get("refresh_token") not in self.refresh_tokens:
                self._json(handler, 400, {"error": "invalid_grant"})
            else:
                self._issue(handler, 3600, refresh=not self.quirks.omit_refresh_token)
            return
        asked = self.codes.pop(form.get("code", ""), None)
        if asked is None or asked["redirect_uri"] != form.get("redirect_uri"):
            self._json(handler, 400, {"error": "invalid_grant"})
            return
        if "code_challenge" in asked:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["code_challenge"]:
                self._json(handler, 400, {"error": "invalid_grant"})
                return
        self._issue(handler, self.quirks.first_expires_in, refresh=not self.quirks.long_lived)

    def _exchange(self, handler: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        ok = (params.get("client_id"), params.get("client_secret")) == self.client
        with self.lock:
            known = params.get("fb_exchange_token") in self.access_tokens
            self.exchanges += 1
        if params.get("grant_type") != "fb_exchange_token" or not ok or not known:
            self._json(handler, 400, {"error": "invalid_request"})
            return
        self._issue(handler, 5_184_000, refresh=False)


_shared_vendor: OAuth2Provider | None = None
SHARED_CLIENT = ("catalog-client", "catalog-client-secret")


def shared_vendor() -> OAuth2Provider:
    """One OAuth 2 stand-in for the test process (the route catalog's examples)."""
    global _shared_vendor
    if _shared_vendor is None:
        _shared_vendor = OAuth2Provider(*SHARED_CLIENT).__enter__()
    return _shared_vendor


class OAuth1Provider(EchoAPI):
    """An Evernote-like vendor (RFC 5849): temporary credentials, authorize, token
    credentials, and ``/oauth1/api/...`` answering only HMAC-SHA1-signed calls."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        super().__init__()
        self.consumer = (consumer_key, consumer_secret)
        self.temporary: dict[str, dict[str, str]] = {}
        self.access: dict[str, str] = {}
        self.issued: list[str] = []
        self.bad_signatures = 0

    def _verify(self, call: Call, token_secret: str | None) -> Any:
        from authlib.oauth1.rfc5849.signature import (
            generate_signature_base_string,
            hmac_sha1_signature,
        )
        from authlib.oauth1.rfc5849.wrapper import OAuth1Request

        uri = f"http://{call.header('Host')}{call.path}" + (f"?{call.query}" if call.query else "")
        request = OAuth1Request(call.method, uri, call.body or None, dict(call.headers))
        base = generate_signature_base_string(request)
        expected = hmac_sha1_signature(base, self.consumer[1], token_secret)
        ok = request.client_id == self.consumer[0] and hmac.compare_digest(
            expected, request.signature or ""
        )
        if not ok:
            with self.lock:
                self.bad_signatures += 1
        return request if ok else None

    def _form(self, handler: BaseHTTPRequestHandler, fields: dict[str, str]) -> None:
        body = urlencode(fields).encode()
        self._send(handler, 200, body, [("Content-Type", "application/x-www-form-urlencoded")])

    def _new(self, kind: str) -> tuple[str, str]:
        token, secret = (
            f"{kind}-{secrets.token_urlsafe(10)}",
            f"{kind}s-{secrets.token_urlsafe(10)}",
        )
        self.issued += [token, secret]
        return token, secret

    def answer(self, handler: BaseHTTPRequestHandler, call: Call) -> None:
        params = {k: v[0] for k, v in parse_qs(call.query).items()}
        if call.path == "/oauth1/request_token":
            request = self._verify(call, None)
            if request is None or not request.redirect_uri:
                self._send(handler, 401, b"oauth_problem=signature_invalid", [])
                return
            token, secret = self._new("rt")
            self.temporary[token] = {"secret": secret, "callback": request.redirect_uri}
            self._form(handler, {"oauth_token": token, "oauth_token_secret": secret,
                                 "oauth_callback_confirmed": "true"})  # fmt: skip
        elif call.path == "/oauth1/authorize":
            pending = self.temporary[params["oauth_token"]]
            pending["verifier"] = secrets.token_urlsafe(8)
            back = pending["callback"]
            query = urlencode(
                {"oauth_token": params["oauth_token"], "oauth_verifier": pending["verifier"]}
            )
            self._send(
                handler, 302, b"", [("Location", f"{back}{'&' if '?' in back else '?'}{query}")]
            )
        elif call.path == "/oauth1/access_token":
            token = self._token_of(call)
            pending = self.temporary.pop(token, None)
            request = self._verify(call, pending["secret"]) if pending else None
            verifier = request.oauth_params.get("oauth_verifier") if request else None
            if pending is None or request is None or verifier != pending.get("verifier"):
                self._send(handler, 401, b"oauth_problem=token_rejected", [])
                return
            access, secret = self._new("at")
            self.access[access] = secret
            self._form(handler, {"oauth_token": access, "oauth_token_secret": secret})
        elif call.path.startswith("/oauth1/api/"):
            token = self._token_of(call)
            request = self._verify(call, self.access.get(token)) if token in self.access else None
            if request is None:
                self._send(handler, 401, b'{"error": "signature_invalid"}', [])
            else:
                self._send(
                    handler, 200, json.dumps({"path": call.path, "token": token}).encode(), []
                )
        else:
            super().answer(handler, call)

    @staticmethod
    def _token_of(call: Call) -> str:
        from authlib.oauth1.rfc5849.wrapper import OAuth1Request

        uri = f"http://{call.header('Host')}{call.path}"
        request = OAuth1Request(call.method, uri, None, dict(call.headers))
        return str(request.token or "")
