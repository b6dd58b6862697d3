"""The one reader of numbers people type, in a form or in a workbook cell.

Vietnamese offices write 1.234.567 for a count and 1.234,5 or 92,5 for a value; a dot followed by
exactly three digit groups is a thousands separator ("1.000" is one thousand), and a lone dot with
other than three digits after it is a decimal point ("92.5"). Only ASCII digits are numbers.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")  # 1.234.567
DIGITS = re.compile(r"[0-9]+")
VIETNAMESE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})*,[0-9]+|[0-9]+,[0-9]+")  # 1.234,5 or 92,5
PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # 92.5 or 1e6, as a worksheet may hold


class NotANumber(ValueError):
    """The text is not a number in any form the portal reads."""


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_whole(value) -> int | None:
    """A count, 0 or more: a whole number cell, or text such as 1234 or 1.234 (never 2.5 read as 25).
    None for a blank."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise NotANumber(value)
    if isinstance(value, str):
        text = value.strip()
        if GROUPED.fullmatch(text):
            text = text.replace(".", "")
        if not DIGITS.fullmatch(text):
            raise NotANumber(value)
        return int(text)
    number = _cell_number(value)
    if number != number.to_integral_value() or number < 0:
        raise NotANumber(value)
    return int(number)


def parse_decimal(value) -> Decimal | None:
    """A value: a number cell, or text such as 92,5 or 1.234,5 (Vietnamese), 1.000 (one thousand)
    or 92.5. None for a blank."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise NotANumber(value)
    if not isinstance(value, str):
        return _cell_number(value)
    text = value.strip()
    if VIETNAMESE.fullmatch(text) or GROUPED.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif not PLAIN.fullmatch(text):
        raise NotANumber(value)
    return _finite(Decimal(text))


def _cell_number(value) -> Decimal:
    """A number cell's value; a date, a time or anything else a cell may hold is not a number."""
    if not isinstance(value, int | float | Decimal):
        raise NotANumber(value)
    return _finite(Decimal(str(value)))


def _finite(number: Decimal) -> Decimal:
    try:
        if not number.is_finite():  # a cell of 1E999 is read as infinity
            raise NotANumber(number)
    except InvalidOperation as exc:
        raise NotANumber(number) from exc
    return number
