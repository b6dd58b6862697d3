from django import forms
from django.utils.translation import gettext_lazy as _

from cchc_portal.forms import NFCForm


class UnitSearchForm(NFCForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    closed = forms.BooleanField(label=_("Include closed units"), required=False)
