from .help import lazy_help_url


def help_link(request) -> dict:
    """`help_url`: where the top bar's help link goes for this page. Worked out only when a
    template shows it (partial htmx answers do not)."""
    return {"help_url": lazy_help_url(request)}
