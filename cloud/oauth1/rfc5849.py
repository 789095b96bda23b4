"""OAuth 1.0a signed requests (RFC 5849), checked with authlib's ResourceProtector.

- Signature base string: authlib's (section 3.4.1), from the method, the URL
  as served and the query and ``Authorization: OAuth`` parameters. The
  cloud's APIs take JSON bodies, which section 3.4.1.3.1 leaves out of the
  signature; a form-encoded body (which it would cover) is refused, since the
  enforcement point does not read bodies.
- Methods: HMAC-SHA256 (the section 3.4.2 construction with SHA-256, as
  registered by most providers since), and HMAC-SHA1 only where configured
  for old clients. RSA-SHA1 and PLAINTEXT are refused.
- Replay (section 3.3): the timestamp must be within the window either side
  of now, and the (consumer, token, nonce, timestamp) tuple is new: nonces
  are stored in the database, so every API worker refuses a replay another
  accepted, and only after the signature verified, so strangers can't fill
  the table. A nonce is kept until its timestamp leaves the window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from authlib.common.encoding import to_bytes
from authlib.oauth1.rfc5849 import ResourceProtector
from authlib.oauth1.rfc5849.errors import InvalidNonceError, InvalidRequestError, OAuth1Error
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape

from edgeward.cloud.crypto.keys import SealedBox
from edgeward.cloud.storage.schema import oauth1_credentials, oauth1_nonces

HMAC_SHA256 = "HMAC-SHA256"
HMAC_SHA1 = "HMAC-SHA1"
TIMESTAMP_WINDOW_S = 300


def hmac_sha256_signature(base_string: str, client_secret: str, token_secret: str) -> str:
    """Section 3.4.2 with SHA-256: key ``escape(client secret) & escape(token secret)``."""
    key = f"{escape(client_secret or '')}&{escape(token_secret or '')}"
    digest = hmac.new(to_bytes(key), to_bytes(base_string), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_hmac_sha256(request: Any) -> bool:
    if not request.client_secret or not request.signature:
        return False
    expected = hmac_sha256_signature(
        generate_signature_base_string(request), request.client_secret, request.token_secret
    )
    return hmac.compare_digest(expected, request.signature)


def sign_hmac_sha256(client: Any, request: Any) -> str:
    """The client side, for authlib's ``ClientAuth.register_signature_method``."""
    return hmac_sha256_signature(
        generate_signature_base_string(request), client.client_secret, client.token_secret
    )


@dataclass(frozen=True, slots=True)
class _Consumer:
    secret: str

    def get_client_secret(self) -> str:
        return self.secret

    def get_rsa_public_key(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class _TokenCredential:
    secret: str
    token_id: str

    def get_oauth_token_secret(self) -> str:
        return self.secret


class Refused(Exception):
    """A signed request not accepted; ``reason`` goes to the audit log."""

    def __init__(
        self, reason: str, consumer_key: str | None, account_id: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.consumer_key = consumer_key
        self.account_id = account_id  # the credentials' account, when the key is known


class SignedRequests:
    """The service's verifier: its key box and the signature methods it accepts."""

    def __init__(self, box: SealedBox, allow_hmac_sha1: bool) -> None:
        self.box = box
        self.methods = [HMAC_SHA256] + ([HMAC_SHA1] if allow_hmac_sha1 else [])

    def verify(self, connection: sa.Connection, method: str, url: str, headers: Any) -> str:
        """The id of the token a valid signed request acts with; else :class:`Refused`."""
        # authlib's protector keeps per-request state (the credential row) on
        # itself, so each request gets its own, bound to the caller's transaction.
        call = _Verification(self.box, self.methods, connection)
        try:
            request = call.validate_request(method, url, None, headers)
            call.remember_nonce(request)
        except OAuth1Error as exc:
            account_id = None if call.row is None else call.row.account_id
            raise Refused(exc.error, call.consumer_key, account_id) from exc
        return str(request.credential.token_id)


class _Verification(ResourceProtector):  # type: ignore[misc]
    SIGNATURE_METHODS = {**ResourceProtector.SIGNATURE_METHODS, HMAC_SHA256: verify_hmac_sha256}  # noqa: RUF012
    EXPIRY_TIME = TIMESTAMP_WINDOW_S

    def __init__(self, box: SealedBox, methods: list[str], connection: sa.Connection) -> None:
        self.box = box
        self.SUPPORTED_SIGNATURE_METHODS = methods
        self.connection = connection
        self.row: Any = None
        self.consumer_key: str | None = None

    def get_client_by_id(self, client_id: str) -> _Consumer | None:
        self.consumer_key = client_id
        self.row = self.connection.execute(
            sa.select(oauth1_credentials).where(oauth1_credentials.c.consumer_key == client_id)
        ).first()
        if self.row is None:
            return None
        return _Consumer(self._open("consumer", self.row.sealed_consumer_secret))

    def get_token_credential(self, request: Any) -> _TokenCredential | None:
        if self.row is None or not hmac.compare_digest(self.row.token_key, request.token):
            return None
        secret = self._open("token", self.row.sealed_token_secret)
        return _TokenCredential(secret, self.row.token_id)

    def validate_timestamp_and_nonce(self, request: Any) -> None:
        timestamp = request.timestamp
        if timestamp and timestamp.isdigit() and int(timestamp) > time.time() + self.EXPIRY_TIME:
            raise InvalidRequestError('Invalid "oauth_timestamp" value')
        super().validate_timestamp_and_nonce(request)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Checked by :meth:`remember_nonce`, after the signature verified."""
        return False

    def remember_nonce(self, request: Any) -> None:
        now_s = int(time.time())
        self.connection.execute(
            oauth1_nonces.delete().where(oauth1_nonces.c.expires_us < now_s * 1_000_000)
        )
        timestamp = int(request.timestamp)
        nonce = request.oauth_params["oauth_nonce"]
        if len(nonce) > 128:
            raise InvalidRequestError('"oauth_nonce" longer than 128 characters')
        try:
            with self.connection.begin_nested():
                self.connection.execute(
                    oauth1_nonces.insert().values(
                        consumer_key=request.client_id,
                        token_key=request.token,
                        nonce=nonce,
                        timestamp=timestamp,
                        expires_us=(timestamp + self.EXPIRY_TIME) * 1_000_000,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise InvalidNonceError() from exc

    def _open(self, which: str, sealed: bytes) -> str:
        return self.box.open(sealed, f"oauth1:{self.row.id}:{which}").decode()
