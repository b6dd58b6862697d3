"""{% picture %}: a picture of the portal in the guide, with its size, so that the page does not
move under the reader while the pictures load (a link to a section lands on the section)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django import template
from django.conf import settings
from django.templatetags.static import static

register = template.Library()

FOLDER = Path(settings.BASE_DIR) / "static" / "guide"
DEFAULT_SIZE = (1280, 800)


@lru_cache(maxsize=64)
def picture_size(name: str) -> tuple[int, int]:
    """Width and height of static/guide/<name>.png, read from its header."""
    try:
        with open(FOLDER / f"{name}.png", "rb") as file:
            head = file.read(24)
    except OSError:
        return DEFAULT_SIZE
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return DEFAULT_SIZE
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@register.inclusion_tag("guide/_picture.html")
def picture(name: str, alt: str, caption: str = "") -> dict:
    width, height = picture_size(name)
    return {"src": static(f"guide/{name}.png"), "alt": alt, "caption": caption, "width": width, "height": height}
