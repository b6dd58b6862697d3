from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from cchc_portal.forms import CountField, NFCForm, NumberField
from units.models import Kind

from .models import Figure, SubmissionStatus
from .services import MAX_COUNT, FigureInput, validate_figure


class FiguresForm(NFCForm):
    """One row of fields per figure: counts for ratios and reductions, a value otherwise."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, figures: list[Figure], **kwargs):
        super().__init__(*args, **kwargs)
        self.figures = figures
        for figure in figures:
            code = figure.target.code
            if figure.uses_counts:
                for name in ("numerator", "denominator"):
                    self.fields[f"{code}__{name}"] = CountField(
                        required=False, min_value=0, max_value=MAX_COUNT, localize=True, initial=getattr(figure, name)
                    )
            else:
                self.fields[f"{code}__value"] = NumberField(
                    required=False, min_value=0, max_digits=14, decimal_places=2, localize=True, initial=figure.value
                )
            self.fields[f"{code}__note"] = note = forms.CharField(required=False, max_length=2000, initial=figure.note)
            # NUL is refused with the other control characters by validate_figure, in Vietnamese.
            note.validators = [v for v in note.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def rows(self):
        """(figure, {field name: bound field}) for the template."""
        for figure in self.figures:
            code = figure.target.code
            yield figure, {name.split("__")[1]: self[name] for name in self.fields if name.startswith(f"{code}__")}

    def clean(self):
        cleaned = super().clean()
        for figure in self.figures:
            data = self.figure_input(figure, cleaned)
            for field, messages in validate_figure(figure.measure, data).items():
                name = f"{figure.target.code}__{field}"
                if name in self.fields and name not in self.errors:
                    for message in messages:
                        self.add_error(name, message)
        return cleaned

    @staticmethod
    def figure_input(figure: Figure, cleaned: dict) -> FigureInput:
        code = figure.target.code
        return FigureInput(
            numerator=cleaned.get(f"{code}__numerator"),
            denominator=cleaned.get(f"{code}__denominator"),
            value=cleaned.get(f"{code}__value"),
            note=cleaned.get(f"{code}__note") or "",
        )

    def figure_inputs(self) -> dict[str, FigureInput]:
        return {f.target.code: self.figure_input(f, self.cleaned_data) for f in self.figures}


class VersionForm(forms.Form):
    """A review decision names the version of the report the reviewer saw: a decision on a page
    older than the report is refused, never applied to figures the reviewer has not seen."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReasonForm(NFCForm, VersionForm):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class EvidenceForm(NFCForm):
    file = forms.FileField(label=_("Evidence document"))


class ReviewFilterForm(NFCForm):
    period = forms.CharField(required=False)
    q = forms.CharField(label=_("Search a unit"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *SubmissionStatus.choices]
    )
    kind = forms.ChoiceField(label=_("Unit kind"), required=False, choices=[("", _("All kinds")), *Kind.choices])
    late = forms.BooleanField(label=_("Late only"), required=False)


class FiguresImportForm(NFCForm):
    file = forms.FileField(label=_("Filled workbook (.xlsx)"))
