"""One money type: :class:`decimal.Decimal`, parsed from strings, rounded half-up at the end."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
_MONEY_RE = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


def parse_money(value: object) -> Decimal:
    """Parse a money string with at most two decimals.

    Floats and JSON numbers are refused: money travels as strings so that no binary
    rounding can creep in.

    Examples
    --------
    >>> parse_money("19.99")
    Decimal('19.99')
    """
    if isinstance(value, Decimal):
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "19.99", not a number')
    if not _MONEY_RE.match(value):
        raise ValueError('must be a decimal string with at most 2 decimal places, such as "19.99"')
    return Decimal(value)


def round_money(value: Decimal) -> Decimal:
    """Round half-up to cents (only ever at the end of a computation)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal) -> str:
    """The wire form of money: a string with exactly two decimals.

    >>> format_money(Decimal("3.005"))
    '3.01'
    """
    return format(round_money(value), "f")
