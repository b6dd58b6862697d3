from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cchc_portal.forms import NFCFormMixin, NFCModelForm

from .models import RoleAssignment, SuccessionEvent, SuccessionLink, Unit, User
from .services import unit_save

admin.site.site_header = _("CCHC target-tracking portal")
admin.site.site_title = _("CCHC portal administration")
admin.site.index_title = _("Administration")


class ClosedFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "closed"

    def lookups(self, request, model_admin):
        return [("no", _("In force")), ("yes", pgettext_lazy("unit", "Closed"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(valid_to__isnull=True)
        if self.value() == "yes":
            return queryset.filter(valid_to__isnull=False)
        return queryset


class UnitForm(NFCModelForm):
    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "parent", "valid_from", "valid_to", "is_pilot"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    form = UnitForm
    list_display = ["code", "name", "kind", "parent", "valid_from", "valid_to", "is_pilot"]
    list_filter = ["kind", "is_pilot", ClosedFilter]
    search_fields = ["code", "name", "search_name"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]

    def save_model(self, request, obj, form, change):
        unit_save(unit=obj)

    def has_delete_permission(self, request, obj=None):
        # Units are never deleted, only closed (valid_to), so that their history stays.
        return False


class SuccessionLinkInline(admin.TabularInline):
    model = SuccessionLink
    extra = 1
    autocomplete_fields = ["predecessor", "successor"]
    can_delete = False


class SuccessionEventForm(NFCModelForm):
    class Meta:
        model = SuccessionEvent
        fields = ["code", "kind", "effective_date", "legal_basis", "note"]


@admin.register(SuccessionEvent)
class SuccessionEventAdmin(admin.ModelAdmin):
    form = SuccessionEventForm
    list_display = ["code", "kind", "effective_date", "legal_basis"]
    list_filter = ["kind"]
    search_fields = ["code", "legal_basis", "note"]
    inlines = [SuccessionLinkInline]

    def has_delete_permission(self, request, obj=None):
        # A reorganisation is history: the series of merged units are built from it.
        return False


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ["unit"]


class PortalUserChangeForm(NFCFormMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class PortalUserCreationForm(NFCFormMixin, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "full_name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    list_display = ["username", "full_name", "position", "email", "is_active"]
    search_fields = ["username", "full_name", "email"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "position", "email", "phone"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["username", "full_name", "password1", "password2"]})]
    inlines = [RoleAssignmentInline]
    # Who may administer, and with which Django permissions, is for superusers alone: a secretariat
    # account with access to this page must not be able to make itself (or anyone) a superuser.
    PRIVILEGES = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else readonly + list(self.PRIVILEGES)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__full_name", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]
    list_select_related = ["user", "unit"]
