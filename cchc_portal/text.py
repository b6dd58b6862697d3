"""Text helpers shared by every app: Vietnamese normalisation and diacritic folding."""

import unicodedata


def nfc(value: str) -> str:
    """Return `value` in Unicode NFC, the form Vietnamese text is stored in."""
    return unicodedata.normalize("NFC", value)


def fold(value: str) -> str:
    """Lower-case `value` and strip Vietnamese diacritics, so "Nghi Lộc" and "nghi loc" match."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())
