from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.urls import reverse
from django.utils.formats import get_format, number_format
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext_lazy as _

from cchc_portal.converters import is_code

register = template.Library()

register.filter("is_code", is_code)


@register.simple_tag
def code_url(viewname: str, *args) -> str:
    """`{% url %}` for a page named by codes, or "" when one cannot stand in a URL (a row saved
    before codes were validated): the page then shows it as text instead of failing for everyone.

    `{% code_url 'dashboard:unit' unit.code as link %}{% if link %}<a href="{{ link }}">...`
    """
    if not all(is_code(arg) for arg in args):
        return ""
    return reverse(viewname, args=args)


@register.simple_tag
def code_link(text, viewname: str, *args) -> str:
    """`text` linked to a page named by codes, or `text` alone when a code cannot stand in a URL:
    `{% code_link unit.name 'dashboard:unit' unit.code %}`."""
    url = code_url(viewname, *args)
    return format_html('<a href="{}">{}</a>', url, text) if url else conditional_escape(text)


@register.filter
def num(value, places: int = 2) -> str:
    """A number as offices write it: 1.234,5 (no trailing zeros), halves rounded up as people
    do by hand (81,25 -> 81,3); an em dash when there is none."""
    if value is None or value == "":
        return "—"
    rounded = Decimal(value).quantize(Decimal(10) ** -int(places), rounding=ROUND_HALF_UP)
    text = number_format(rounded, decimal_pos=int(places), force_grouping=True)
    separator = get_format("DECIMAL_SEPARATOR")
    return text.rstrip("0").rstrip(separator) if separator in text else text


@register.filter
def figure(value, measure: str = "") -> str:
    """A result as a reader reads it: 79,1% for a rate, 1.234 for a count, "Đã hoàn thành" or
    "Chưa hoàn thành" for a done / not done target; an em dash when there is none."""
    return figure_text(value, measure)


def figure_text(value, measure: str, places: int = 1) -> str:
    if value is None or value == "":
        return "—"
    if measure == "boolean":
        return str(_("Done") if Decimal(value) >= 1 else _("Not done"))
    if measure == "count":
        return num(value, 0)
    return f"{num(value, places)}%"


@register.filter
def num_input(value) -> str:
    """A number as typed into a form field: no grouping, Vietnamese decimal comma (89,9)."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text.replace(".", get_format("DECIMAL_SEPARATOR"))
    return str(value)


FIELD_LABELS = {
    "numerator": _("Numerator"),
    "denominator": _("Denominator"),
    "value": _("Value"),
    "note": _("Note"),
    "file": _("File"),
    "threshold": _("Threshold"),
}


@register.filter
def field_label(key: str) -> str:
    """The Vietnamese name of a field recorded in an audit trail."""
    return str(FIELD_LABELS.get(key, key))


@register.filter
def audit_value(value) -> str:
    """A recorded old or new value: numbers as offices write them, nothing as an em dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return num(value)
    if isinstance(value, str):
        try:
            return num(Decimal(value))
        except InvalidOperation:
            return value
    return str(value)
