from django import forms
from django.utils.translation import gettext_lazy as _

from cchc_portal.forms import NFCForm


class UnitSearchForm(NFCForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    closed = forms.BooleanField(label=_("Include closed units"), required=False)


class ProvinceImportForm(NFCForm):
    file = forms.FileField(label=_("Units and people workbook (.xlsx)"))
    invite = forms.BooleanField(label=_("Send an invitation e-mail to each new account"), required=False, initial=True)


class PeopleFilterForm(NFCForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pending = forms.BooleanField(label=_("Only accounts without a password yet"), required=False)
