from decimal import Decimal

from django import template
from django.utils.formats import get_format, number_format

register = template.Library()


@register.filter
def num(value, places: int = 2) -> str:
    """A number as offices write it: 1.234,5 (no trailing zeros); an em dash when there is none."""
    if value is None or value == "":
        return "—"
    text = number_format(
        Decimal(value).quantize(Decimal(10) ** -int(places)), decimal_pos=int(places), force_grouping=True
    )
    separator = get_format("DECIMAL_SEPARATOR")
    return text.rstrip("0").rstrip(separator) if separator in text else text
