from django import forms
from django.core.exceptions import ValidationError

from .numbers import NotANumber, parse_decimal, parse_whole
from .text import nfc


class NFCFormMixin:
    """Normalise every submitted text value to NFC before any field sees it.

    Keyboards and Excel on Windows often send decomposed Vietnamese (NFD); stored text must be
    NFC so that searches, unique codes and exports agree.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            data = self.data.copy()
            for key in data:
                values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
                normalised = [nfc(v) if isinstance(v, str) else v for v in values]
                if hasattr(data, "setlist"):
                    data.setlist(key, normalised)
                else:
                    data[key] = normalised[0]
            self.data = data


class NFCModelForm(NFCFormMixin, forms.ModelForm):
    pass


class NFCForm(NFCFormMixin, forms.Form):
    pass


class _VietnameseNumber:
    """A form field that reads what is typed with the portal's one number reader."""

    parse = staticmethod(parse_whole)

    def to_python(self, value):
        try:
            return self.parse(value)
        except NotANumber as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class CountField(_VietnameseNumber, forms.IntegerField):
    """A count typed the Vietnamese way (1.234), read by the same rule as a workbook cell."""


class NumberField(_VietnameseNumber, forms.DecimalField):
    """A value typed the Vietnamese way (92,5 or 1.234,5), read by the same rule as a workbook cell."""

    parse = staticmethod(parse_decimal)
