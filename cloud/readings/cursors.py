"""Reading cursors: a position in (time, id) order, bound to its account, filter and order.

A cursor is ``<position>.<tag>``: the position is base64url JSON
``[time_us, id]``; the tag is HMAC-SHA256 (truncated to 128 bits) keyed by
a key derived from the server pepper, over the position, the account, the
filter's digest and the order. So a cursor is opaque in effect: a forged
one, one from another account, or one replayed with other filters or the
other order fails its tag and is refused with 400 -- it can never select
rows the filter it was issued for would not. Every API worker shares the
pepper, so a cursor from one works on all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

from edgeward.cloud.errors import BadRequest

Order = Literal["asc", "desc"]
_TAG_BYTES = 16
_REFUSED = "cursor is not one this API handed out for this account, filter and order"


@dataclass(frozen=True, slots=True)
class CursorKey:
    """The keyed context a cursor is issued in and checked against."""

    key: bytes
    account_id: str
    filter_digest: str
    order: Order

    @classmethod
    def from_pepper(
        cls, pepper: bytes, account_id: str, filter_digest: str, order: Order
    ) -> CursorKey:
        derived = hmac.new(pepper, b"edgeward readings cursor v1", hashlib.sha256).digest()
        return cls(derived, account_id, filter_digest, order)

    def _tag(self, position: str) -> str:
        message = "\n".join((position, self.account_id, self.filter_digest, self.order))
        tag = hmac.new(self.key, message.encode(), hashlib.sha256).digest()[:_TAG_BYTES]
        return _b64(tag)

    def encode(self, time_us: int, row_id: int) -> str:
        position = _b64(json.dumps([time_us, row_id], separators=(",", ":")).encode())
        return f"{position}.{self._tag(position)}"

    def decode(self, cursor: str) -> tuple[int, int]:
        """The position of ``cursor``; 400 naming ``cursor`` unless this context issued it."""
        position, dot, tag = cursor.partition(".")
        if not dot or not hmac.compare_digest(tag.encode(), self._tag(position).encode()):
            raise BadRequest(_REFUSED, field="cursor")
        try:
            time_us, row_id = json.loads(_unb64(position))
        except (ValueError, TypeError) as exc:  # a tagged cursor always parses; belt and braces
            raise BadRequest(_REFUSED, field="cursor") from exc
        return int(time_us), int(row_id)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
