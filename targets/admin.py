from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cchc_portal.admin import ReadOnlyAdmin, year_column
from cchc_portal.forms import NFCModelForm

from .models import Area, CatalogueChange, Programme, Target, Threshold
from .services import area_save, programme_save, target_save, threshold_remove, threshold_set


class ReasonField(forms.CharField):
    def __init__(self):
        super().__init__(
            label=_("Reason for the change"),
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text=_("Kept in the history with your name and the time."),
        )


class AreaForm(NFCModelForm):
    change_reason = ReasonField()

    class Meta:
        model = Area
        fields = ["code", "name", "order"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    form = AreaForm
    list_display = ["order", "code", "name"]
    list_display_links = ["code", "name"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change):
        area_save(area=obj, by=request.user, reason=form.cleaned_data["change_reason"])

    def has_delete_permission(self, request, obj=None):
        return False


class ProgrammeForm(NFCModelForm):
    change_reason = ReasonField()

    class Meta:
        model = Programme
        fields = [
            "code", "name", "first_year", "last_year", "legal_sources", "plan_documents", "closed", "scoring",
            "scoring_floor",
        ]  # fmt: skip


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    form = ProgrammeForm
    list_display = [
        "code",
        "name",
        year_column("first_year", _("first year")),
        year_column("last_year", _("last year")),
        "closed",
        "scoring",
    ]
    list_display_links = ["code", "name"]

    def save_model(self, request, obj, form, change):
        programme_save(programme=obj, by=request.user, reason=form.cleaned_data["change_reason"])

    def has_delete_permission(self, request, obj=None):
        return False


class TargetForm(NFCModelForm):
    change_reason = ReasonField()

    class Meta:
        model = Target
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A closed programme takes no new target: only the open ones are offered. (A closed
        # programme's target is shown read-only, without these fields.)
        if "programme" in self.fields:
            self.fields["programme"].queryset = Programme.objects.open().order_by("-first_year")
        if "continues" in self.fields:
            self.fields["continues"].queryset = Target.objects.select_related("programme").order_by(
                "-programme__first_year", "code"
            )


def _closed(target: Target | None) -> bool:
    return target is not None and target.programme.closed


class ThresholdInline(admin.TabularInline):
    """The thresholds in force. Saving supersedes rows instead of editing them (see save_formset)."""

    model = Threshold
    fields = ["level", "from_year", "value"]
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).current()

    # A closed programme's thresholds are read, never changed.
    def has_add_permission(self, request, obj=None):
        return not _closed(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not _closed(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _closed(obj) and super().has_delete_permission(request, obj)


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = [
        "code", "title", "programme", "area", "measure", "weight",
        year_column("first_year", _("in force from year")), year_column("last_year", _("in force until year")),
    ]  # fmt: skip
    list_filter = ["programme", "area", "measure", "for_department", "for_district", "for_commune"]
    list_select_related = ["programme", "area"]
    search_fields = ["code", "title", "legal_source"]
    inlines = [ThresholdInline]
    fieldsets = [
        (None, {"fields": ["code", "title", "description", "programme", "continues", "area", "order"]}),
        (
            _("Measure"),
            {
                "fields": [
                    "measure",
                    "direction",
                    "aggregation",
                    "numerator_label",
                    "denominator_label",
                    "baseline_label",
                    "unit_label",
                ]
            },
        ),
        (_("Who reports it"), {"fields": ["for_province", "for_department", "for_district", "for_commune"]}),
        (_("Scoring and source"), {"fields": ["weight", "legal_source", "first_year", "last_year"]}),
        (_("Change"), {"fields": ["change_reason"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("programme")

    def has_change_permission(self, request, obj=None):
        # A target of a closed programme is shown read-only: its history stays as it was.
        return not _closed(obj) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        target_save(target=obj, by=request.user, reason=form.cleaned_data["change_reason"])

    def save_formset(self, request, form, formset, change):
        reason = form.cleaned_data["change_reason"]
        deleted = formset.deleted_forms
        for inline_form in formset.forms:
            if not inline_form.has_changed() or inline_form in deleted or not inline_form.cleaned_data:
                continue
            data, initial = inline_form.cleaned_data, inline_form.initial
            # The form has already written the new values onto its instance: compare with `initial`.
            moved = (initial.get("level"), initial.get("from_year")) != (data["level"], data["from_year"])
            if inline_form.instance.pk and moved:
                old = Threshold.objects.get(pk=inline_form.instance.pk)
                threshold_remove(threshold=old, by=request.user, reason=reason)
            threshold_set(
                target=form.instance,
                level=data["level"],
                from_year=data["from_year"],
                value=data["value"],
                by=request.user,
                reason=reason,
            )
        for inline_form in deleted:
            if inline_form.instance.pk:
                old = Threshold.objects.get(pk=inline_form.instance.pk)
                threshold_remove(threshold=old, by=request.user, reason=reason)
        # The admin's own change message reads these.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def has_delete_permission(self, request, obj=None):
        # A target is retired by its last year, never deleted: its history must stay.
        return False


@admin.register(Threshold)
class ThresholdAdmin(ReadOnlyAdmin):
    """Every threshold row ever recorded, read-only: edit thresholds on their target."""

    list_display = [
        "target", "level", year_column("from_year", _("from year")), "value", "recorded_at", "recorded_by",
        "superseded_at",
    ]  # fmt: skip
    list_filter = ["level", "from_year"]
    search_fields = ["target__code", "target__title"]
    list_select_related = ["target", "recorded_by"]


@admin.register(CatalogueChange)
class CatalogueChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "programme", "target", "action", "changed_by", "reason"]
    list_filter = ["action"]
    search_fields = ["target__code", "programme__code", "reason"]
    list_select_related = ["programme", "target", "changed_by"]
