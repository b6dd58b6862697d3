from django import forms
from django.utils.translation import gettext_lazy as _

from cchc_portal.forms import NFCForm
from units.models import Level

from .models import Area, Programme
from .selectors import programme_label


class ProgrammeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Programme) -> str:
        return programme_label(obj)


class CatalogueFilterForm(NFCForm):
    programme = ProgrammeChoiceField(
        label=_("Programme"),
        queryset=Programme.objects.order_by("-first_year"),
        required=False,
        to_field_name="code",
        empty_label=None,
    )
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
