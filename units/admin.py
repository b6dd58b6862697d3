from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cchc_portal.admin import ReadOnlyAdmin
from cchc_portal.forms import NFCFormMixin, NFCModelForm

from .audit import account_values, diff, unit_save_recorded
from .invitations import InvitationRefused, account_status, invitation_resend, invitations_request
from .models import (
    AccountAction,
    AccountChange,
    Invitation,
    RoleAssignment,
    SuccessionEvent,
    SuccessionLink,
    Unit,
    UnitChange,
    User,
)

ADMIN_SOURCE = "admin"

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
        unit_save_recorded(unit=obj, by=request.user, source=ADMIN_SOURCE)

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


class PortalUserCreationForm(NFCModelForm):
    """A new account by its e-mail address, which becomes its user name: no password is typed here,
    the person is invited to choose their own."""

    email = forms.EmailField(label=_("email address"), max_length=150)

    class Meta:
        model = User
        fields = ["email", "full_name", "position", "phone"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.username = user.email
        user.set_unusable_password()
        if commit:
            user.save()
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    list_display = ["username", "full_name", "position", "email", "is_active", "account_status"]
    search_fields = ["username", "full_name", "email"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["full_name", "position", "email", "phone"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "position", "phone"]})]
    add_form_template = None  # Django's asks for a password, which nobody types for someone else here
    inlines = [RoleAssignmentInline]
    actions = ["send_invitations"]
    # Who may administer, and with which Django permissions, is for superusers alone: a secretariat
    # account with access to this page must not be able to make itself (or anyone) a superuser.
    PRIVILEGES = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else readonly + list(self.PRIVILEGES)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.annotate(last_invited=Max("invitations__requested_at"), last_sent=Max("invitations__sent_at"))

    @admin.display(description=_("Account"))
    def account_status(self, user: User) -> str:
        return account_status(user).text

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            AccountChange.objects.create(
                user=obj,
                action=AccountAction.CREATED,
                changes=diff({}, account_values(obj)),
                source=ADMIN_SOURCE,
                changed_by=request.user,
                changed_at=timezone.now(),
            )
            invitations_request(users=[obj], by=request.user)  # sent once the roles below are saved too

    def user_change_password(self, request, id, form_url=""):
        # The secretariat re-sends an invitation or the person uses "Forgot your password?"; typing
        # someone else's password stays a superuser's last resort.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.action(description=_("Send an invitation to set a password"))
    def send_invitations(self, request, queryset):
        sent, refused = 0, []
        for user in queryset:
            try:
                invitation_resend(user=user, by=request.user)
                sent += 1
            except InvitationRefused as exc:
                refused.append(str(exc))
        if sent:
            self.message_user(request, _("%d invitations will be sent.") % sent, messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__full_name", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]
    list_select_related = ["user", "unit"]


@admin.register(UnitChange)
class UnitChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "unit", "action", "source", "changed_by"]
    list_filter = ["action"]
    search_fields = ["unit__code", "unit__name", "source"]
    list_select_related = ["unit", "changed_by"]


@admin.register(AccountChange)
class AccountChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "user", "action", "source", "changed_by"]
    list_filter = ["action"]
    search_fields = ["user__username", "user__full_name", "user__email", "source"]
    list_select_related = ["user", "changed_by"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "user", "requested_by", "sent_at"]
    search_fields = ["user__username", "user__full_name", "user__email"]
    list_select_related = ["user", "requested_by"]
