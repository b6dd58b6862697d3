from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cchc_portal.admin import ReadOnlyAdmin, year_column

from .models import Evidence, Period, PeriodEvent, PeriodState, Reminder, Submission, SubmissionEvent
from .periods import period_feature, period_set_deadline, period_set_state


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "start", "end", "deadline", "state", "featured", "locked_at"]
    list_filter = ["kind", "state", "year"]
    year_shown = year_column("year", _("year"))
    fields = ["key", "kind", "year_shown", "quarter", "start", "end", "deadline", "state", "featured", "locked_at"]
    readonly_fields = ["key", "kind", "year_shown", "quarter", "start", "end", "state", "featured", "locked_at"]
    actions = ["open_periods", "close_periods", "lock_periods", "feature_period", "unfeature_periods"]

    def has_add_permission(self, request):
        # Periods are created from their key (manage.py period 2025-Q3) or by the scheduled job.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only the deadline can be edited here, and its change is recorded.
        period_set_deadline(period=Period.objects.get(pk=obj.pk), deadline=obj.deadline, by=request.user)

    def _set(self, request, queryset, state):
        for period in queryset:
            period_set_state(period=period, state=state, by=request.user)
        self.message_user(request, _("%d periods updated.") % queryset.count(), messages.SUCCESS)

    @admin.action(description=_("Open the selected periods"))
    def open_periods(self, request, queryset):
        self._set(request, queryset, PeriodState.OPEN)

    @admin.action(description=_("Close the selected periods"))
    def close_periods(self, request, queryset):
        self._set(request, queryset, PeriodState.CLOSED)

    @admin.action(description=_("Lock the selected periods"))
    def lock_periods(self, request, queryset):
        self._set(request, queryset, PeriodState.LOCKED)

    @admin.action(description=_("Show the selected period first on the dashboard"))
    def feature_period(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one period."), messages.ERROR)
            return
        period_feature(period=queryset.get(), by=request.user)
        self.message_user(request, _("The dashboard now opens on %s.") % queryset.get().label, messages.SUCCESS)

    @admin.action(description=_("Open the dashboard on the latest closed quarter again"))
    def unfeature_periods(self, request, queryset):
        period_feature(period=None, by=request.user)
        self.message_user(request, _("The dashboard opens on the latest closed quarter."), messages.SUCCESS)


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ["unit", "period", "status", "is_late", "submitted_at", "reviewed_by", "times_returned"]
    list_filter = ["status", "is_late", "period"]
    search_fields = ["unit__name", "unit__code"]
    list_select_related = ["unit", "period", "reviewed_by"]


@admin.register(SubmissionEvent)
class SubmissionEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "submission", "action", "from_status", "to_status", "by"]
    list_filter = ["action"]
    list_select_related = ["submission__unit", "submission__period", "by"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "submission", "size", "uploaded_by", "uploaded_at", "removed_at"]
    list_select_related = ["submission__unit", "submission__period", "uploaded_by"]
    # The file lives in private storage, which has no URL: the admin's file widget cannot show it.
    # It is named here and linked to the portal's download, which checks who may read it.
    fields = [
        "submission",
        "target",
        "document",
        "content_type",
        "size",
        "uploaded_by",
        "uploaded_at",
        "removed_at",
        "removed_by",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("submission__unit", "submission__period")

    @admin.display(description=_("file"))
    def document(self, evidence: Evidence) -> str:
        if not evidence.file:
            return _("%s (file deleted)") % evidence.original_name
        if evidence.removed_at:
            return _("%s (removed)") % evidence.original_name
        submission = evidence.submission
        url = reverse("reports:evidence", args=[submission.period.key, submission.unit.code, evidence.pk])
        return format_html('<a href="{}">{}</a>', url, evidence.original_name)


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["period", "unit", "kind", "sent_at", "recipients"]
    list_filter = ["kind", "period"]
    list_select_related = ["period", "unit"]


@admin.register(PeriodEvent)
class PeriodEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "period", "changes", "by"]
    list_select_related = ["period", "by"]
