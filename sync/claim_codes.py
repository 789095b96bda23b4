"""Claim codes: short, typable, single-use secrets an installer types on a gateway.

Format ``XXXXX-XXXXX-C``: ten symbols of Crockford's base32 alphabet (no I,
L, O or U, so nothing reads two ways) carrying 50 random bits, and a check
symbol by the Luhn mod N algorithm (N = 32), which catches every single
mistyped symbol and most swaps of neighbours before the cloud is asked.
Input is forgiving: case, spaces and dashes don't matter, and O/I/L read as
0/1/1 as Crockford specifies.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 10
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def _luhn_sum(symbols: str, double_first: bool) -> int:
    """Luhn mod N from the right: every other symbol doubled, digits summed in base N."""
    base = len(ALPHABET)
    total, double = 0, double_first
    for symbol in reversed(symbols):
        addend = ALPHABET.index(symbol) * (2 if double else 1)
        total += addend // base + addend % base
        double = not double
    return total


def _check_symbol(body: str) -> str:
    return ALPHABET[-_luhn_sum(body, double_first=True) % len(ALPHABET)]


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{body[:5]}-{body[5:]}-{_check_symbol(body)}"


class ClaimCodeTypo(ValueError):
    """The code can't be right as typed: wrong length, unknown symbol or check symbol."""


def normalize(typed: str) -> str:
    """The canonical form of a typed code, or :class:`ClaimCodeTypo`."""
    cleaned = "".join(_READ_AS.get(c, c) for c in typed.upper() if c not in " -")
    if len(cleaned) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in cleaned):
        raise ClaimCodeTypo(f"a claim code is {BODY_LENGTH + 1} symbols like ABCDE-FGH12-K")
    body, check = cleaned[:-1], cleaned[-1]
    if _check_symbol(body) != check:
        raise ClaimCodeTypo("the claim code has a typo (its check symbol does not match)")
    return f"{body[:5]}-{body[5:]}-{check}"
