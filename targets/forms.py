from django import forms
from django.utils.translation import gettext_lazy as _

from cchc_portal.forms import NFCForm
from units.models import Level

from .models import Area


class CatalogueFilterForm(NFCForm):
    area = forms.ModelChoiceField(
        label=_("Reform area"),
        queryset=Area.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("All areas"),
    )
    level = forms.ChoiceField(label=_("Level"), choices=[("", _("All levels")), *Level.choices], required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)


class CatalogueImportForm(NFCForm):
    file = forms.FileField(label=_("Catalogue workbook (.xlsx)"))
    reason = forms.CharField(
        label=_("Reason for the change"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, strip=True
    )
