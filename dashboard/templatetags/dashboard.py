from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from attainment.models import Status

register = template.Library()
STATUS_LABELS = dict(Status.choices)


@register.simple_tag
def status_badge(status: str) -> SafeString:
    """A status in its one colour and word, the same in every table (the chart and the heatmap
    use the same classes)."""
    label = escape(str(STATUS_LABELS.get(status, status)))
    return mark_safe(f'<span class="badge cell-{escape(status)}">{label}</span>')  # noqa: S308 - escaped


@register.simple_tag
def heatmap_cells(cells, report_url: str) -> SafeString:
    """A heatmap row's cells, each a link to the unit's report ("" for no link). Built here, not
    with a template loop: a province's heatmap has 15,000 cells, and the template engine's per-cell
    cost would dominate the page."""
    link = escape(report_url)
    parts = []
    for cell in cells:
        if cell is None:
            parts.append('<td class="cell-none"></td>')
            continue
        css = f"cell-{cell.status}" + (" provisional" if cell.provisional else "")
        text, title = escape(cell.text), escape(cell.label)
        if link:
            parts.append(f'<td class="{css}"><a href="{link}" title="{title}">{text}</a></td>')
        else:  # a unit whose code cannot be in a URL (old data): shown, not linked
            parts.append(f'<td class="{css}" title="{title}">{text}</td>')
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
