"""Text helpers shared by every app: Vietnamese normalisation and diacritic folding."""

import re
import unicodedata

# Characters that change how text reads without showing: direction overrides and isolates (a
# "U+202E" turns "gpj.exe" into "exe.jpg" on screen), zero-width spaces and joiners, the BOM.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def nfc(value: str) -> str:
    """Return `value` in Unicode NFC, the form Vietnamese text is stored in."""
    return unicodedata.normalize("NFC", value)


def fold(value: str) -> str:
    """Lower-case `value` and strip Vietnamese diacritics, so "Nghi Lộc" and "nghi loc" match."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
