import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.template import Context, Template
from django.utils import formats, timezone, translation

from cchc_portal.forms import NFCForm


def test_dates_and_numbers_in_vietnamese_format():
    with translation.override("vi"):
        rendered = Template('{{ day|date:"SHORT_DATE_FORMAT" }} {{ n }} {{ d }}').render(
            Context({"day": dt.date(2025, 7, 1), "n": 1234567, "d": Decimal("1234567.8")})
        )
        assert rendered == "01/07/2025 1.234.567 1.234.567,8"
        assert formats.sanitize_separators("1.234.567,8") == "1234567.8"


def test_date_input_is_dd_mm_yyyy():
    from django import forms

    class F(forms.Form):
        day = forms.DateField()

    with translation.override("vi"):
        form = F({"day": "14/03/2024"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["day"] == dt.date(2024, 3, 14)


def test_timezone_and_language_defaults():
    assert settings.LANGUAGE_CODE == "vi"
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert timezone.get_current_timezone_name() == "Asia/Ho_Chi_Minh"


def test_forms_normalise_typed_text_to_nfc():
    from django import forms

    class F(NFCForm):
        name = forms.CharField()

    form = F({"name": "Xa\u0303 Nghi Lo\u0323\u0302c"})  # decomposed "Xã Nghi Lộc"
    assert form.is_valid()
    assert form.cleaned_data["name"] == "Xã Nghi Lộc"


def _po_entries(text: str) -> list[tuple[dict[str, str], bool]]:
    """(fields, fuzzy) of each entry of a .po file; multi-line strings are joined."""
    entries = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'(msg\w+(?:\[\d+\])?) "(.*)"$', line)
            if match:
                key, value = match.groups()
                fields[key] = value
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if fields.get("msgid"):
            entries.append((fields, "#, fuzzy" in block))
    return entries


def test_every_message_has_a_vietnamese_translation():
    po = (Path(settings.BASE_DIR) / "locale/vi/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    entries = _po_entries(po)
    assert len(entries) > 50
    missing = [
        f["msgid"] for f, fuzzy in entries if fuzzy or not all(v for k, v in f.items() if k.startswith("msgstr"))
    ]
    assert not missing, missing
    # The compiled catalogue (.mo, committed so that no gettext tools are needed) matches the .po.
    stale = []
    with translation.override("vi"):
        for fields, _fuzzy in entries:
            if "msgid_plural" in fields:
                continue
            msgid, msgstr = (ast.literal_eval(f'"{fields[k]}"') for k in ("msgid", "msgstr"))
            got = translation.pgettext(fields["msgctxt"], msgid) if "msgctxt" in fields else translation.gettext(msgid)
            if got != msgstr:
                stale.append(msgid)
    assert not stale, f"run `make messages`: {stale}"
