"""Signing up by invitation and recovering a forgotten password: Django's views, the portal's
templates, mails sent by the worker (units.invitations)."""

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.urls import reverse_lazy
from django.views.generic import TemplateView

from .invitations import PortalPasswordResetForm, account_record, invitation_token_generator
from .models import AccountAction


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Asks for an e-mail address and always answers "if it has an account, a link is on its way"."""

    form_class = PortalPasswordResetForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("accounts:password-reset-done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    action = AccountAction.RESET_DONE

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            account_record(user=form.user, action=self.action)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class InvitationConfirmView(PasswordResetConfirmView):
    """The invitation's link: the person chooses their own password, which ends the link."""

    token_generator = invitation_token_generator
    template_name = "registration/invitation_confirm.html"
    success_url = reverse_lazy("accounts:invitation-done")
    action = AccountAction.ACTIVATED


class InvitationDoneView(TemplateView):
    template_name = "registration/invitation_done.html"
